/* fuzz_blast_radius: normalized events (attacker-influenced: subjects, tool names, URIs) through
 * the blast-radius accumulator and every rendering.
 *
 * The input is JSON lines; each line that parses as an object is fed (NUL bytes in strings
 * allowed). Small caps (4 members per set, 2 evidence ids) so the bounds are exercised. Seeds:
 * lines of normalized events (tests/fuzz/corpus/fuzz_blast_radius/).
 *
 * Checks: the score is within [0, 100] and MBR >= 0 for every identity; no set holds more than
 * its cap; the HTML holds exactly one <script> element (the page's own) and no <img, <iframe or
 * <image element; the text has no control character but '\n'. */
#include "collector/blast_radius.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_blast_radius: invariant violated: %s\n", what);
	abort();
}

static int check_item(void *ctx, json_t *item)
{
	(void)ctx;
	double score = json_number_value(json_object_get(item, "score"));
	double mbr = json_number_value(json_object_get(item, "mbr"));
	if (!(score >= 0 && score <= 100) || !(mbr >= 0))
		fail("score outside [0, 100] or a negative MBR");
	json_t *cap = json_object_get(item, "capability");
	if (json_integer_value(json_object_get(cap, "tools_granted")) > 4 * 16)
		fail("more tools than the caps allow");
	return 0;
}

static char *render(struct blast_radius *br, int (*write)(struct blast_radius *, FILE *),
		    size_t *len)
{
	char *out = NULL;
	FILE *f = open_memstream(&out, len);
	if (!f)
		return NULL;
	write(br, f);
	fclose(f);
	return out;
}

static void drop_event(void *ctx, json_t *event_take)
{
	(void)ctx;
	json_decref(event_take);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct br_config cfg;
	br_config_defaults(&cfg);
	cfg.max_items = 4;
	cfg.max_evidence = 2;
	struct blast_radius *br = blast_radius_new(&cfg);
	if (!br)
		return 0;
	const char *p = (const char *)data, *end = p + size;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		json_t *ev = json_loadb(p, n, JSON_ALLOW_NUL, NULL);
		if (json_is_object(ev))
			blast_radius_add(br, ev);
		json_decref(ev);
		p += n + 1;
	}
	blast_radius_each(br, check_item, NULL);
	blast_radius_events(br, drop_event, NULL);
	size_t len = 0;
	char *html = render(br, blast_radius_write_html, &len);
	if (html) {
		const char *first = strstr(html, "<script");
		if (!first || strstr(first + 1, "<script") || strstr(html, "<img") ||
		    strstr(html, "<iframe") || strstr(html, "<image"))
			fail("markup from an event reached the HTML");
	}
	free(html);
	char *text = render(br, blast_radius_write_text, &len);
	for (size_t i = 0; text && i < len; i++)
		if ((unsigned char)text[i] < 0x20 && text[i] != '\n')
			fail("a control character in the text report");
	free(text);
	free(render(br, blast_radius_write_json, &len));
	blast_radius_free(br);
	return 0;
}
