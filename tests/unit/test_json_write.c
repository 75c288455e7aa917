/* sinks/json_write.c writes exactly what jansson's json_dumps(JSON_COMPACT) writes: checked on
 * hand-picked values (escapes, NULs, reals, deep nesting) and on every golden event. */
#include "sinks/json_write.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void same_as_jansson(const json_t *v)
{
	char *want = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	assert_non_null(want);
	struct strbuf got = STRBUF_INIT;
	assert_int_equal(json_write_compact(v, &got), 0);
	assert_int_equal(got.len, strlen(want));
	if (memcmp(got.data, want, got.len) != 0)
		fail_msg("json_write: %.*s\n   jansson: %s", (int)got.len, got.data, want);
	strbuf_free(&got);
	free(want);
}

static void values(void **state)
{
	(void)state;
	static const double reals[] = {0.0,    -0.0,	 1.0,	    4.0,       0.1,   250.75,
				       1e20,   1e21,	 1.5e-7,    -2.5e-300, 1e300, 123456789.125,
				       3.0e10, 0.000001, 1.0 / 3.0, 5e-324};
	for (size_t i = 0; i < sizeof(reals) / sizeof(reals[0]); i++) {
		json_t *r = json_real(reals[i]);
		same_as_jansson(r);
		json_decref(r);
	}
	json_t *ints = json_pack("[I, I, I, i]", (json_int_t)INT64_MAX, (json_int_t)INT64_MIN,
				 (json_int_t)0, -1);
	same_as_jansson(ints);
	json_decref(ints);
	const char tricky[] = "q\"b\\s/\b\f\n\r\t\x01\x1f\x7f é € 😀 \0 end";
	json_t *s = json_stringn(tricky, sizeof(tricky) - 1);
	assert_non_null(s);
	json_t *obj = json_object();
	json_object_set_new(obj, "s", s);
	json_object_setn_new(obj, "k\0ey\n", 5, json_true());
	json_object_set_new(obj, "n", json_null());
	json_object_set_new(obj, "f", json_false());
	json_object_set_new(obj, "empty", json_object());
	json_object_set_new(obj, "list", json_pack("[[], {}, [1, [2, {\"a\": \"b\"}]]]"));
	same_as_jansson(obj);
	json_decref(obj);
}

static void deep_and_bad(void **state)
{
	(void)state;
	json_t *root = json_array(), *cur = root;
	for (int i = 0; i < 100; i++) {
		json_t *next = json_array();
		json_array_append_new(cur, next);
		cur = next;
	}
	same_as_jansson(root);
	for (int i = 0; i < 3000; i++) {
		json_t *next = json_array();
		json_array_append_new(cur, next);
		cur = next;
	}
	struct strbuf out = STRBUF_INIT;
	assert_int_equal(json_write_compact(root, &out), -1); /* deeper than jansson allows */
	strbuf_free(&out);
	json_decref(root);
	assert_int_equal(json_write_compact(NULL, &out), -1);
}

static void golden_events(void **state)
{
	(void)state;
	const char *sets[] = {"events.jsonl", "edge.jsonl"};
	const char *slash = strrchr(__FILE__, '/');
	int dir_len = slash ? (int)(slash - __FILE__) : 1;
	size_t n = 0;
	for (size_t i = 0; i < 2; i++) {
		char path[4096];
		snprintf(path, sizeof(path), "%.*s/../data/golden/%s", dir_len,
			 slash ? __FILE__ : ".", sets[i]);
		FILE *f = fopen(path, "r");
		assert_non_null(f);
		char *line = NULL;
		size_t cap = 0;
		ssize_t len;
		while ((len = getline(&line, &cap, f)) > 0) {
			json_t *ev = json_loadb(line, (size_t)len, JSON_ALLOW_NUL, NULL);
			if (!ev)
				continue;
			same_as_jansson(ev);
			json_decref(ev);
			n++;
		}
		free(line);
		fclose(f);
	}
	assert_true(n > 40);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(values),
		cmocka_unit_test(deep_and_bad),
		cmocka_unit_test(golden_events),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
