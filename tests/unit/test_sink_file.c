/* Unit tests for the file sink (sinks/sink_file.c) and its verifier (collector/verify.c), through
 * their public interfaces: sink_open/sink_write_batch/sink_close with file: URIs in a scratch
 * directory, then verify_files() on what they wrote. */
#include "collector/util.h"
#include "collector/verify.h"
#include "sinks/file_chain.h"
#include "sinks/sink.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

static char scratch[256];
static char key_file[300]; /* the HMAC key the chained tests share */

/* ---- helpers ---- */

static const char *in_scratch(const char *name)
{
	static char paths[8][512];
	static int next;
	char *p = paths[next++ % 8];
	snprintf(p, 512, "%s/%s", scratch, name);
	return p;
}

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	struct strbuf b = STRBUF_INIT;
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		assert_true(strbuf_append(&b, chunk, n));
	fclose(f);
	assert_true(strbuf_append(&b, "", 0));
	if (len)
		*len = b.len;
	return b.data;
}

static void write_all_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

static void clean_scratch(void)
{
	DIR *d = opendir(scratch);
	assert_non_null(d);
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			unlink(in_scratch(e->d_name));
	closedir(d);
}

static int setup(void **state)
{
	(void)state;
	clean_scratch();
	return 0;
}

/* An event payload like the json encoder's: a compact object. */
static char *event_payload(int i)
{
	char *p = NULL;
	assert_true(
		asprintf(&p,
			 "{\"schema\":\"mcptrail/1\",\"event_id\":\"e%04d\",\"type\":\"mcp.tool_"
			 "call\",\"time\":\"2026-11-27T10:00:%02d.000Z\",\"call\":{\"tool\":\"t%"
			 "d\"}}",
			 i, i % 60, i) > 0);
	return p;
}

/* Writes records [from, to) in batches of batch. */
static void write_events(struct sink *s, int from, int to, int batch)
{
	for (int i = from; i < to; i += batch) {
		struct sink_record recs[64];
		char *payloads[64];
		int n = 0;
		for (int k = i; k < to && n < batch; k++, n++) {
			payloads[n] = event_payload(k);
			recs[n] = (struct sink_record){NULL, payloads[n], strlen(payloads[n])};
		}
		assert_int_equal(sink_write_batch(s, recs, (size_t)n), SINK_OK);
		for (int k = 0; k < n; k++)
			free(payloads[k]);
	}
}

static struct sink *open_ok(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static struct sink *open_ok(const char *fmt, ...)
{
	char uri[1024], err[512] = "";
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(uri, sizeof(uri), fmt, ap);
	va_end(ap);
	struct sink *s = sink_open(uri, err, sizeof(err));
	if (!s)
		fail_msg("%s: %s", uri, err);
	return s;
}

static void open_fails(const char *uri, const char *needle)
{
	char err[512] = "";
	struct sink *s = sink_open(uri, err, sizeof(err));
	assert_null(s);
	if (!strstr(err, needle))
		fail_msg("%s: error '%s' does not mention '%s'", uri, err, needle);
}

static int mode_of(const char *path)
{
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	return (int)(sb.st_mode & 0777);
}

/* The segment files of base in the scratch directory, sorted; returns how many. */
static size_t list_segments(const char *base, char names[][256], size_t max)
{
	DIR *d = opendir(scratch);
	assert_non_null(d);
	struct dirent *e;
	size_t n = 0, bl = strlen(base);
	while ((e = readdir(d)))
		if (strncmp(e->d_name, base, bl) == 0 && e->d_name[bl] == '.' && n < max)
			snprintf(names[n++], 256, "%s", in_scratch(e->d_name));
	closedir(d);
	qsort(names, n, 256, (int (*)(const void *, const void *))strcmp);
	return n;
}

static int verify_paths(char names[][256], size_t n, const char *key_path,
			struct verify_result *res)
{
	const char *paths[64];
	for (size_t i = 0; i < n; i++)
		paths[i] = names[i];
	unsigned char *key = NULL;
	size_t keylen = 0;
	char err[256];
	if (key_path)
		assert_int_equal(chain_key_load(key_path, false, &key, &keylen, err, sizeof(err)),
				 0);
	struct verify_options opt = {.key = key, .keylen = keylen};
	int rc = verify_files(paths, n, &opt, res);
	free(key);
	return rc;
}

static int verify_one(const char *path, const char *key_path, struct verify_result *res)
{
	char names[1][256];
	snprintf(names[0], 256, "%s", path);
	return verify_paths(names, 1, key_path, res);
}

static void sha256_hex_of(const char *a, size_t alen, const char *b, size_t blen, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[32];
	unsigned int mdlen;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	EVP_DigestUpdate(ctx, a, alen);
	EVP_DigestUpdate(ctx, b, blen);
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	for (int i = 0; i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
}

/* Splits text into lines (in place); returns how many. */
static size_t split_lines(char *text, char **lines, size_t max)
{
	size_t n = 0;
	for (char *p = text; *p && n < max;) {
		char *nl = strchr(p, '\n');
		lines[n++] = p;
		if (!nl)
			break;
		*nl = '\0';
		p = nl + 1;
	}
	return n;
}

static void rewrite_lines(const char *path, char **lines, size_t n)
{
	struct strbuf b = STRBUF_INIT;
	for (size_t i = 0; i < n; i++)
		assert_true(strbuf_append_str(&b, lines[i]) && strbuf_append(&b, "\n", 1));
	write_all_file(path, b.data, b.len);
	strbuf_free(&b);
}

/* ---- plain files: the behaviour before options existed ---- */

static void test_plain_file_holds_the_payloads_and_is_truncated_at_open(void **state)
{
	(void)state;
	const char *path = in_scratch("plain.jsonl");
	struct sink *s = open_ok("file:%s", path);
	struct sink_record recs[2] = {{NULL, "{\"a\":1}", 7}, {NULL, "{\"b\":2}", 7}};
	assert_int_equal(sink_write_batch(s, recs, 2), SINK_OK);
	assert_int_equal(sink_write_batch(s, recs, 1), SINK_OK);
	assert_int_equal(sink_close(s), 0);
	char *text = read_all(path, NULL);
	assert_string_equal(text, "{\"a\":1}\n{\"b\":2}\n{\"a\":1}\n");
	free(text);
	assert_int_equal(mode_of(path), 0640);

	s = open_ok("%s", path); /* a plain path, truncated again */
	assert_int_equal(sink_write_batch(s, recs + 1, 1), SINK_OK);
	assert_int_equal(sink_close(s), 0);
	text = read_all(path, NULL);
	assert_string_equal(text, "{\"b\":2}\n");
	free(text);

	s = open_ok("file:%s?mode=append&fsync=batch", path);
	assert_int_equal(sink_write_batch(s, recs, 1), SINK_OK);
	assert_int_equal(sink_close(s), 0);
	text = read_all(path, NULL);
	assert_string_equal(text, "{\"b\":2}\n{\"a\":1}\n");
	free(text);
}

static void test_a_question_mark_without_options_is_part_of_the_name(void **state)
{
	(void)state;
	struct sink *s = open_ok("file:%s", in_scratch("odd?name.jsonl"));
	assert_int_equal(sink_close(s), 0);
	assert_int_equal(access(in_scratch("odd?name.jsonl"), F_OK), 0);
}

static void test_fsync_policies(void **state)
{
	(void)state;
	static const char *const policies[] = {"batch", "flush", "never",
					       "interval&fsync_interval_ms=5"};
	for (size_t i = 0; i < 4; i++) {
		struct sink *s = open_ok("file:%s?fsync=%s", in_scratch("sync.jsonl"), policies[i]);
		write_events(s, 0, 10, 3);
		assert_int_equal(sink_flush(s), SINK_OK);
		assert_int_equal(sink_close(s), 0);
		char *text = read_all(in_scratch("sync.jsonl"), NULL);
		char *lines[16];
		assert_int_equal(split_lines(text, lines, 16), 10);
		free(text);
	}
}

static void test_bad_options_are_refused_with_their_name(void **state)
{
	(void)state;
	char uri[600];
	snprintf(uri, sizeof(uri), "file:%s?rotate_bytes=lots", in_scratch("x"));
	open_fails(uri, "rotate_bytes");
	snprintf(uri, sizeof(uri), "file:%s?colour=blue", in_scratch("x"));
	open_fails(uri, "unknown option 'colour'");
	snprintf(uri, sizeof(uri), "file:%s?fsync=sometimes", in_scratch("x"));
	open_fails(uri, "fsync: expected one of flush, batch, interval, never");
	snprintf(uri, sizeof(uri), "file:%s?chain=1", in_scratch("x"));
	open_fails(uri, "chain=1 needs key=PATH");
	snprintf(uri, sizeof(uri), "file:%s?fsync_interval_ms=10", in_scratch("x"));
	open_fails(uri, "needs fsync=interval");
	snprintf(uri, sizeof(uri), "file:%s?zstd_level=5", in_scratch("x"));
	open_fails(uri, "needs compress=zstd");
	snprintf(uri, sizeof(uri), "file:%s?chain=1&key=%s&encode=cef", in_scratch("x"), key_file);
	open_fails(uri, "needs the json encoding");
	open_fails("file:-?rotate_bytes=1M", "not standard output");
	snprintf(uri, sizeof(uri), "file:%s?mode=sideways", in_scratch("x"));
	open_fails(uri, "mode: expected one of append, truncate");
	snprintf(uri, sizeof(uri), "file:%s?key=%%zz", in_scratch("x"));
	open_fails(uri, "%-escape");
}

/* ---- chain ---- */

static void test_chain_refuses_another_encoding(void **state)
{
	(void)state;
	char uri[600], err[512] = "";
	snprintf(uri, sizeof(uri), "file:%s?chain=1&key=%s", in_scratch("c.jsonl"), key_file);
	struct sink s = {.ops = &sink_file_ops, .uri = uri, .encoding = ENCODING_CEF};
	assert_int_equal(sink_file_ops.open(&s, uri + 5, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "chain=1 needs the json encoding; this sink encodes cef"));

	/* an encoding set after open is refused at the first write */
	struct sink *t = open_ok("%s", uri);
	t->encoding = ENCODING_LEEF;
	struct sink_record rec = {NULL, "{}", 2};
	assert_int_equal(sink_write_batch(t, &rec, 1), SINK_ERROR);
	assert_non_null(strstr(t->last_error, "json"));
	t->encoding = ENCODING_JSON;
	sink_close(t);
}

static void test_chain_refuses_payloads_that_cannot_carry_it(void **state)
{
	(void)state;
	struct sink *s = open_ok("file:%s?chain=1&key=%s", in_scratch("c.jsonl"), key_file);
	struct sink_record bad[] = {
		{NULL, "[1,2]", 5},
		{NULL, "{\"a\":\n1}", 8},
		{NULL, "{\"mcptrail_manifest\":1}", 23},
	};
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(sink_write_batch(s, &bad[i], 1), SINK_DROP);
	assert_int_equal(sink_close(s), -1); /* dropped batches count as failed */
}

static void test_chain_lines_follow_the_definition(void **state)
{
	(void)state;
	const char *path = in_scratch("c.jsonl"), *key = key_file;
	struct sink *s = open_ok("file:%s?chain=1&key=%s", path, key);
	struct sink_record recs[] = {
		{NULL, "{\"a\":1}", 7},
		{NULL, "{}", 2},
		{NULL, "{ \"b\" : [1] }  ", 15}, /* trailing whitespace is not chained */
	};
	assert_int_equal(sink_write_batch(s, recs, 3), SINK_OK);
	assert_int_equal(sink_close(s), 0);

	/* the key file: 32 random bytes, 0600 */
	size_t keylen;
	free(read_all(key, &keylen));
	assert_int_equal(keylen, 32);
	assert_int_equal(mode_of(key), 0600);
	assert_int_equal(mode_of(path), 0640);

	char *text = read_all(path, NULL);
	char *lines[8];
	assert_int_equal(split_lines(text, lines, 8), 4);
	const char *payloads[] = {"{\"a\":1}", "{}", "{ \"b\" : [1] }"};
	const char *expected_body[] = {"{\"a\":1,\"chain\":\"", "{\"chain\":\"",
				       "{ \"b\" : [1] ,\"chain\":\""};
	char prev[65];
	memcpy(prev, chain_genesis, 65);
	char first[65];
	for (int i = 0; i < 3; i++) {
		char c[65];
		sha256_hex_of(prev, 64, payloads[i], strlen(payloads[i]), c);
		char want[256];
		snprintf(want, sizeof(want), "%s%s\"}", expected_body[i], c);
		assert_string_equal(lines[i], want);
		if (i == 0)
			memcpy(first, c, 65);
		memcpy(prev, c, 65);
	}
	struct chain_manifest m;
	char err[200];
	assert_int_equal(chain_manifest_parse(lines[3], strlen(lines[3]), &m, err, sizeof(err)), 0);
	assert_int_equal(m.segment, 1);
	assert_int_equal(m.records, 3);
	assert_string_equal(m.first_chain, first);
	assert_string_equal(m.last_chain, prev);
	assert_string_equal(m.prev_last_chain, chain_genesis);
	assert_false(m.recovered);
	free(text);

	struct verify_result res;
	assert_int_equal(verify_one(path, key, &res), 0);
	assert_true(res.ok);
	assert_int_equal(res.records, 3);
	assert_int_equal(res.segments, 1);
}

static void test_chained_file_appends_a_segment_per_run(void **state)
{
	(void)state;
	const char *path = in_scratch("c.jsonl"), *key = key_file;
	for (int run = 0; run < 3; run++) {
		struct sink *s = open_ok("file:%s?chain=1&key=%s", path, key);
		write_events(s, run * 10, run * 10 + (run == 1 ? 0 : 10), 4); /* run 1: empty */
		assert_int_equal(sink_close(s), 0);
	}
	struct verify_result res;
	assert_int_equal(verify_one(path, key, &res), 0);
	assert_int_equal(res.records, 20);
	assert_int_equal(res.segments, 3);

	/* mode=truncate starts over */
	struct sink *s = open_ok("file:%s?chain=1&key=%s&mode=truncate", path, key);
	write_events(s, 0, 2, 2);
	assert_int_equal(sink_close(s), 0);
	assert_int_equal(verify_one(path, key, &res), 0);
	assert_int_equal(res.records, 2);
	assert_int_equal(res.segments, 1);
}

static void test_a_dated_file_name_is_not_a_segment_name(void **state)
{
	(void)state;
	const char *path = in_scratch("audit.2024.jsonl");
	struct sink *s = open_ok("file:%s?chain=1&key=%s", path, key_file);
	write_events(s, 0, 3, 3);
	assert_int_equal(sink_close(s), 0);
	struct verify_result res;
	assert_int_equal(verify_one(path, key_file, &res), 0);
	assert_int_equal(res.first_segment, 1);
}

/* ---- rotation ---- */

static void test_rotation_by_size_writes_compressed_segments(void **state)
{
	(void)state;
	const char *key = key_file;
	struct sink *s = open_ok("file:%s?rotate_bytes=2K&compress=zstd&chain=1&key=%s&fsync=batch",
				 in_scratch("ev"), key);
	write_events(s, 0, 40, 7);
	write_events(s, 40, 100, 60); /* one batch spanning several segments */
	assert_int_equal(sink_close(s), 0);

	char names[64][256];
	size_t n = list_segments("ev", names, 64);
	assert_true(n >= 5);
	for (size_t i = 0; i < n; i++) {
		char want[256];
		snprintf(want, sizeof(want), "%s.%06zu.jsonl.zst", in_scratch("ev"), i + 1);
		assert_string_equal(names[i], want);
		assert_int_equal(mode_of(names[i]), 0640);
		size_t len;
		char *data = read_all(names[i], &len);
		assert_true(len > 4 && memcmp(data, "\x28\xb5\x2f\xfd", 4) == 0);
		free(data);
	}
	struct verify_result res;
	assert_int_equal(verify_paths(names, n, key, &res), 0);
	assert_int_equal(res.records, 100);
	assert_int_equal(res.segments, n);
	assert_int_equal(res.files, n);

	/* reopening (append, the default) continues numbers and chain */
	s = open_ok("file:%s?rotate_bytes=2K&compress=zstd&chain=1&key=%s", in_scratch("ev"), key);
	write_events(s, 100, 110, 10);
	assert_int_equal(sink_close(s), 0);
	size_t n2 = list_segments("ev", names, 64);
	assert_int_equal(n2, n + 1);
	assert_int_equal(verify_paths(names, n2, key, &res), 0);
	assert_int_equal(res.records, 110);

	/* files given in any order */
	char reversed[64][256];
	for (size_t i = 0; i < n2; i++)
		memcpy(reversed[i], names[n2 - 1 - i], 256);
	assert_int_equal(verify_paths(reversed, n2, key, &res), 0);
}

static void test_rotation_by_time(void **state)
{
	(void)state;
	struct sink *s = open_ok("file:%s?rotate_seconds=1", in_scratch("tm"));
	write_events(s, 0, 3, 3);
	usleep(1100 * 1000);
	write_events(s, 3, 6, 3);
	assert_int_equal(sink_close(s), 0);
	char names[8][256];
	assert_int_equal(list_segments("tm", names, 8), 2);
	char *text = read_all(names[1], NULL);
	char *lines[8];
	assert_int_equal(split_lines(text, lines, 8), 3); /* no chain, no manifest */
	assert_non_null(strstr(lines[0], "\"e0003\""));
	free(text);
}

static void test_mode_truncate_removes_old_segments(void **state)
{
	(void)state;
	struct sink *s = open_ok("file:%s?rotate_bytes=1K", in_scratch("tr"));
	write_events(s, 0, 30, 5);
	assert_int_equal(sink_close(s), 0);
	char names[64][256];
	assert_true(list_segments("tr", names, 64) > 2);
	s = open_ok("file:%s?rotate_bytes=1K&mode=truncate", in_scratch("tr"));
	write_events(s, 0, 1, 1);
	assert_int_equal(sink_close(s), 0);
	assert_int_equal(list_segments("tr", names, 64), 1);
}

/* A crash leaves the last segment .active, without a manifest, perhaps with half a line. */
static void test_reopening_recovers_a_crashed_segment(void **state)
{
	(void)state;
	const char *key = key_file;
	struct sink *s = open_ok("file:%s?rotate_bytes=2K&chain=1&key=%s", in_scratch("cr"), key);
	write_events(s, 0, 40, 5);
	assert_int_equal(sink_close(s), 0);
	char names[64][256];
	size_t n = list_segments("cr", names, 64);
	assert_true(n >= 2);
	/* the last segment, as a crash would leave it */
	char *text = read_all(names[n - 1], NULL);
	char *lines[64];
	size_t nl = split_lines(text, lines, 64);
	char active[300];
	snprintf(active, sizeof(active), "%s.active", names[n - 1]);
	rewrite_lines(active, lines, nl - 1); /* without its manifest */
	FILE *f = fopen(active, "a");
	fputs("{\"schema\":\"mcptrail/1\",\"half", f);
	fclose(f);
	unlink(names[n - 1]);
	free(text);

	struct verify_result res;
	snprintf(names[n - 1], 256, "%.250s", active);
	assert_int_equal(verify_paths(names, n, key, &res), 0); /* the open segment is allowed */
	assert_true(res.open_records > 0);

	s = open_ok("file:%s?rotate_bytes=2K&chain=1&key=%s", in_scratch("cr"), key);
	write_events(s, 40, 45, 5);
	assert_int_equal(sink_close(s), 0);
	size_t n2 = list_segments("cr", names, 64);
	assert_int_equal(n2, n + 1);
	assert_int_equal(verify_paths(names, n2, key, &res), 0);
	assert_int_equal(res.records, 45);
	assert_int_equal(res.recovered, 1);
}

/* ---- tampering ---- */

struct trail {
	char names[64][256];
	size_t n;
	const char *key;
};

static void make_trail(struct trail *t)
{
	t->key = key_file;
	struct sink *s =
		open_ok("file:%s?rotate_bytes=2K&chain=1&key=%s", in_scratch("tp"), t->key);
	write_events(s, 0, 40, 8);
	assert_int_equal(sink_close(s), 0);
	t->n = list_segments("tp", t->names, 64);
	assert_true(t->n >= 3);
}

#define LAST_LINE UINT64_MAX

/* Applies edit to segment 2's lines and checks the first bad place verify reports. */
static void expect_break(struct trail *t, void (*edit)(char **lines, size_t *n), uint64_t line,
			 const char *problem, const char *cause)
{
	size_t len;
	char *orig = read_all(t->names[1], &len);
	char *text = strdup(orig);
	char *lines[128];
	size_t nl = split_lines(text, lines, 128);
	edit(lines, &nl);
	rewrite_lines(t->names[1], lines, nl);
	struct verify_result res;
	assert_int_equal(verify_paths(t->names, t->n, t->key, &res), 1);
	assert_false(res.ok);
	assert_string_equal(res.file, t->names[1]);
	if (line == LAST_LINE)
		line = nl;
	if (res.line != line || !strstr(res.problem, problem) || !strstr(res.cause, cause))
		fail_msg("line %llu: %s (%s); wanted line %llu: %s (%s)",
			 (unsigned long long)res.line, res.problem, res.cause,
			 (unsigned long long)line, problem, cause);
	write_all_file(t->names[1], orig, len);
	free(orig);
	free(text);
}

static void flip_byte(char **l, size_t *n)
{
	(void)n;
	char *p = strstr(l[2], "mcp.tool_call");
	p[0] = 'M';
}
static void delete_line(char **l, size_t *n)
{
	memmove(l + 3, l + 4, (*n - 4) * sizeof(*l));
	(*n)--;
}
static void swap_lines(char **l, size_t *n)
{
	(void)n;
	char *x = l[1];
	l[1] = l[2];
	l[2] = x;
}
static void insert_line(char **l, size_t *n)
{
	memmove(l + 3, l + 2, (*n - 2) * sizeof(*l));
	l[2] = "{\"schema\":\"mcptrail/1\",\"type\":\"forged\",\"chain\":"
	       "\"0000000000000000000000000000000000000000000000000000000000000001\"}";
	(*n)++;
}
static void replay_line(char **l, size_t *n)
{
	memmove(l + 3, l + 2, (*n - 2) * sizeof(*l));
	l[2] = l[0];
	(*n)++;
}
static char altered_manifest[4096];
static void alter_hmac(char **l, size_t *n)
{
	snprintf(altered_manifest, sizeof(altered_manifest), "%s", l[*n - 1]);
	char *h = strstr(altered_manifest, "\"hmac\":\"") + 8;
	*h = *h == '0' ? '1' : '0';
	l[*n - 1] = altered_manifest;
}
static void alter_count(char **l, size_t *n)
{
	snprintf(altered_manifest, sizeof(altered_manifest), "%s", l[*n - 1]);
	char *c = strstr(altered_manifest, "\"records\":") + 10;
	*c = *c == '9' ? '8' : (char)(*c + 1);
	l[*n - 1] = altered_manifest;
}
static void drop_manifest(char **l, size_t *n)
{
	(void)l;
	(*n)--;
}

static void test_verify_names_the_first_bad_place(void **state)
{
	(void)state;
	struct trail t;
	make_trail(&t);
	struct verify_result res;
	assert_int_equal(verify_paths(t.names, t.n, t.key, &res), 0);

	expect_break(&t, flip_byte, 3, "chain mismatch", "altered");
	expect_break(&t, delete_line, 4, "chain mismatch", "removed just before this line");
	expect_break(&t, swap_lines, 2, "chain mismatch", "out of order");
	expect_break(&t, insert_line, 3, "chain mismatch", "does not belong in the chain");
	expect_break(&t, replay_line, 3, "chain mismatch",
		     "repeats the chain value of the record on line 1");
	expect_break(&t, alter_hmac, LAST_LINE, "hmac mismatch", "altered after it was signed");
	expect_break(&t, drop_manifest, 0, "ends without a manifest", "manifest was removed");

	/* without the key a forged count still fails the consistency checks */
	size_t len;
	char *orig = read_all(t.names[1], &len);
	char *text = strdup(orig), *lines[128];
	size_t nl = split_lines(text, lines, 128);
	alter_count(lines, &nl);
	rewrite_lines(t.names[1], lines, nl);
	assert_int_equal(verify_paths(t.names, t.n, NULL, &res), 1);
	assert_non_null(strstr(res.problem, "record count"));
	write_all_file(t.names[1], orig, len);
	free(text);
	free(orig);

	/* a wrong key fails at the first manifest */
	char wrong[32];
	memset(wrong, 7, sizeof(wrong));
	write_all_file(in_scratch("wrong"), wrong, sizeof(wrong));
	assert_int_equal(verify_paths(t.names, t.n, in_scratch("wrong"), &res), 1);
	assert_string_equal(res.file, t.names[0]);
	assert_non_null(strstr(res.cause, "signed with another key"));

	/* a whole middle segment removed */
	char kept[64][256];
	size_t nk = 0;
	for (size_t i = 0; i < t.n; i++)
		if (i != 1)
			memcpy(kept[nk++], t.names[i], 256);
	assert_int_equal(verify_paths(kept, nk, t.key, &res), 1);
	assert_string_equal(res.file, t.names[2]);
	assert_int_equal(res.line, 1);
	assert_non_null(strstr(res.cause, "segment 2 is missing"));

	/* the first segment removed: only --partial accepts it */
	assert_int_equal(verify_paths(t.names + 1, t.n - 1, t.key, &res), 1);
	assert_non_null(strstr(res.problem, "does not start at segment 1"));
	const char *paths[64];
	for (size_t i = 1; i < t.n; i++)
		paths[i - 1] = t.names[i];
	unsigned char *key;
	size_t keylen;
	char err[200];
	assert_int_equal(chain_key_load(t.key, false, &key, &keylen, err, sizeof(err)), 0);
	struct verify_options opt = {.key = key, .keylen = keylen, .partial = true};
	assert_int_equal(verify_files(paths, t.n - 1, &opt, &res), 0);
	assert_int_equal(res.first_segment, 2);
	free(key);
}

static void test_verify_record_index_and_unchained_files(void **state)
{
	(void)state;
	struct trail t;
	make_trail(&t);
	char *text = read_all(t.names[0], NULL);
	char *lines[128];
	size_t records0 = split_lines(text, lines, 128) - 1;
	free(text);
	size_t len;
	char *orig = read_all(t.names[1], &len);
	char *copy = strdup(orig);
	size_t nl = split_lines(copy, lines, 128);
	flip_byte(lines, &nl);
	rewrite_lines(t.names[1], lines, nl);
	struct verify_result res;
	assert_int_equal(verify_paths(t.names, t.n, t.key, &res), 1);
	assert_int_equal(res.record, records0 + 3);
	assert_int_equal(res.segment, 2);
	assert_int_equal(strlen(res.expected), 64);
	assert_int_equal(strlen(res.found), 64);
	free(copy);
	free(orig);

	/* plain output is not a chained trail */
	const char *plain = in_scratch("plain.jsonl");
	struct sink *s = open_ok("file:%s", plain);
	write_events(s, 0, 3, 3);
	assert_int_equal(sink_close(s), 0);
	assert_int_equal(verify_one(plain, NULL, &res), 1);
	assert_int_equal(res.line, 1);
	assert_non_null(strstr(res.problem, "not a chained record"));
	assert_int_equal(verify_one(in_scratch("missing"), NULL, &res), 2);
}

static void test_verify_memory_survives_garbage(void **state)
{
	(void)state;
	static const struct {
		const char *data;
		size_t len;
	} inputs[] = {
		{"", 0},
		{"\n\n\n", 3},
		{"{\"mcptrail_manifest\":1}\n", 24},
		{"{\"a\":1,\"chain\":\"zz\"}\n", 21},
		{"\x28\xb5\x2f\xfd\x00\x00", 6},
		{"{\"mcptrail_manifest\":1,\"segment\":1,\"records\":0,\"first_chain\":null}", 66},
	};
	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		struct verify_result res;
		struct verify_options opt = {0};
		int rc = verify_memory(inputs[i].data, inputs[i].len, "mem", &opt, &res);
		assert_int_equal(rc, 1);
		assert_true(*res.problem);
	}
}

int main(void)
{
	umask(022);
	snprintf(scratch, sizeof(scratch), "%s/test_sink_file.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(scratch)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(key_file, sizeof(key_file), "%s/k", scratch);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_plain_file_holds_the_payloads_and_is_truncated_at_open,
				       setup),
		cmocka_unit_test_setup(test_a_question_mark_without_options_is_part_of_the_name,
				       setup),
		cmocka_unit_test_setup(test_fsync_policies, setup),
		cmocka_unit_test_setup(test_bad_options_are_refused_with_their_name, setup),
		cmocka_unit_test_setup(test_chain_refuses_another_encoding, setup),
		cmocka_unit_test_setup(test_chain_refuses_payloads_that_cannot_carry_it, setup),
		cmocka_unit_test_setup(test_chain_lines_follow_the_definition, setup),
		cmocka_unit_test_setup(test_chained_file_appends_a_segment_per_run, setup),
		cmocka_unit_test_setup(test_a_dated_file_name_is_not_a_segment_name, setup),
		cmocka_unit_test_setup(test_rotation_by_size_writes_compressed_segments, setup),
		cmocka_unit_test_setup(test_rotation_by_time, setup),
		cmocka_unit_test_setup(test_mode_truncate_removes_old_segments, setup),
		cmocka_unit_test_setup(test_reopening_recovers_a_crashed_segment, setup),
		cmocka_unit_test_setup(test_verify_names_the_first_bad_place, setup),
		cmocka_unit_test_setup(test_verify_record_index_and_unchained_files, setup),
		cmocka_unit_test_setup(test_verify_memory_survives_garbage, setup),
	};
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	clean_scratch();
	rmdir(scratch);
	return failed;
}
