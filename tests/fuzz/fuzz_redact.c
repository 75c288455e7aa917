/* fuzz_redact: the redactor on arbitrary bytes, as free text (redact_text) and as the raw JSON
 * text of tool arguments (redact_arguments), with the built-in rules plus two rules of the kind a
 * configuration adds.
 *
 * The first input byte picks the preview cap (0..1020 bytes); the rest is the input.
 * Checks: a fake AWS key planted on a line of its own in front of the input is always redacted;
 * valid UTF-8 in gives valid UTF-8 out; redactions are counted; the arguments event has its
 * digest and size, and its "redacted" member fits the cap when it says it was truncated.
 */
#include "collector/redact.h"
#include "collector/util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PLANTED "\nAKIAIOSFODNN7EXAMPLE\n"

static struct redactor *redactor;

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_redact: invariant violated: %s\n", what);
	abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	static const struct redact_rule_spec extra[] = {
		{"employee-id", "EMP-[0-9]{6}", NULL},
		{"ticket", "(?i)ticket\\s*#\\K[0-9]+", "#"},
	};
	char err[256];
	redactor = redactor_new(extra, 2, err, sizeof(err));
	if (!redactor) {
		fprintf(stderr, "fuzz_redact: %s\n", err);
		abort();
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	size_t cap = (size_t)data[0] * 4;
	const char *in = (const char *)data + 1;
	size_t len = size - 1;

	/* free text, with a secret planted in front */
	size_t plen = strlen(PLANTED);
	char *text = malloc(plen + len + 1);
	if (!text)
		return 0;
	memcpy(text, PLANTED, plen);
	memcpy(text + plen, in, len);
	unsigned count = 0;
	size_t out_len = 0;
	char *out = redact_text(redactor, text, plen + len, &out_len, &count);
	if (!out)
		fail("redact_text returns a string");
	if (out[out_len] != '\0')
		fail("the output is NUL-terminated");
	if (count == 0)
		fail("the planted key is counted");
	if (out_len >= plen && !memcmp(out, PLANTED, plen))
		fail("the planted key is redacted");
	if (utf8_valid(text, plen + len) && !utf8_valid(out, out_len))
		fail("valid UTF-8 stays valid");
	free(out);
	free(text);

	/* tool arguments */
	json_t *ev = redact_arguments(redactor, in, len, cap);
	if (!ev)
		fail("redact_arguments returns an object");
	char digest[65];
	sha256_hex(in, len, digest);
	const char *got = json_string_value(json_object_get(ev, "sha256"));
	if (!got || strcmp(got, digest))
		fail("sha256 is the digest of the raw bytes");
	if (json_integer_value(json_object_get(ev, "bytes")) != (json_int_t)len)
		fail("bytes is the raw size");
	if (!json_is_integer(json_object_get(ev, "redactions")))
		fail("redactions is a count");
	json_t *red = json_object_get(ev, "redacted");
	if (!red)
		fail("redacted is present");
	char *dump = json_dumps(red, JSON_COMPACT | JSON_ENCODE_ANY);
	if (!dump)
		fail("redacted serializes");
	if (json_is_true(json_object_get(ev, "truncated")) && strlen(dump) > (cap > 2 ? cap : 2))
		fail("a truncated preview fits the cap");
	if (!json_is_true(json_object_get(ev, "truncated")) && strlen(dump) > cap && cap >= 2)
		fail("an untruncated copy fits the cap");
	free(dump);
	json_decref(ev);
	return 0;
}
