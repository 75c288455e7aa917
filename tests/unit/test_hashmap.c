/* Unit tests for collector/hashmap: the string-keyed table behind the correlator's state. */
#include "collector/hashmap.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void test_put_get_replace_remove(void **state)
{
	(void)state;
	struct hashmap *m = hashmap_new();
	assert_non_null(m);
	int a = 1, b = 2;
	assert_null(hashmap_get(m, "k", 1));
	assert_true(hashmap_put(m, "k", 1, &a));
	assert_ptr_equal(hashmap_get(m, "k", 1), &a);
	assert_true(hashmap_put(m, "k", 1, &b)); /* replaces */
	assert_ptr_equal(hashmap_get(m, "k", 1), &b);
	assert_int_equal(hashmap_count(m), 1);
	assert_ptr_equal(hashmap_remove(m, "k", 1), &b);
	assert_null(hashmap_get(m, "k", 1));
	assert_null(hashmap_remove(m, "k", 1));
	assert_int_equal(hashmap_count(m), 0);
	hashmap_free(m, NULL);
	hashmap_free(NULL, NULL);
}

static void test_keys_are_byte_strings(void **state)
{
	(void)state;
	struct hashmap *m = hashmap_new();
	int v[4];
	/* the correlator's keys contain separators and may contain NUL bytes */
	assert_true(hashmap_put(m,
				"s\x1f"
				"0\x1fn1",
				6, &v[0]));
	assert_true(hashmap_put(m,
				"s\x1f"
				"0\x1fs1",
				6, &v[1]));
	assert_true(hashmap_put(m, "a\0b", 3, &v[2]));
	assert_true(hashmap_put(m, "a\0c", 3, &v[3]));
	assert_ptr_equal(hashmap_get(m,
				     "s\x1f"
				     "0\x1fn1",
				     6),
			 &v[0]);
	assert_ptr_equal(hashmap_get(m,
				     "s\x1f"
				     "0\x1fs1",
				     6),
			 &v[1]);
	assert_ptr_equal(hashmap_get(m, "a\0b", 3), &v[2]);
	assert_ptr_equal(hashmap_get(m, "a\0c", 3), &v[3]);
	assert_null(hashmap_get(m, "a", 1));
	/* the key is copied */
	char key[8] = "temp";
	assert_true(hashmap_put(m, key, 4, &v[0]));
	memcpy(key, "XXXX", 4);
	assert_ptr_equal(hashmap_get(m, "temp", 4), &v[0]);
	hashmap_free(m, NULL);
}

struct tally {
	size_t n;
	long sum;
};

static void add_up(void *ctx, const char *key, void *value)
{
	struct tally *t = ctx;
	assert_int_equal(atol(key), *(long *)value);
	t->n++;
	t->sum += *(long *)value;
}

static void test_growth_and_iteration(void **state)
{
	(void)state;
	enum { N = 20000 };
	struct hashmap *m = hashmap_new();
	long *values = malloc(N * sizeof(*values));
	char key[32];
	for (long i = 0; i < N; i++) {
		values[i] = i;
		int n = snprintf(key, sizeof(key), "%ld", i);
		assert_true(hashmap_put(m, key, (size_t)n, &values[i]));
	}
	assert_int_equal(hashmap_count(m), N);
	for (long i = 0; i < N; i += 7) {
		int n = snprintf(key, sizeof(key), "%ld", i);
		assert_ptr_equal(hashmap_get(m, key, (size_t)n), &values[i]);
	}
	/* remove the odd ones */
	for (long i = 1; i < N; i += 2) {
		int n = snprintf(key, sizeof(key), "%ld", i);
		assert_ptr_equal(hashmap_remove(m, key, (size_t)n), &values[i]);
	}
	assert_int_equal(hashmap_count(m), N / 2);
	struct tally t = {0};
	hashmap_each(m, add_up, &t);
	assert_int_equal(t.n, N / 2);
	assert_int_equal(t.sum, (long)(N / 2) * (N - 2) / 2); /* 0 + 2 + ... + (N-2) */
	hashmap_free(m, NULL);
	free(values);
}

static int freed;

static void count_free(void *p)
{
	freed++;
	free(p);
}

static void test_free_calls_free_value(void **state)
{
	(void)state;
	struct hashmap *m = hashmap_new();
	for (int i = 0; i < 100; i++) {
		char key[8];
		int n = snprintf(key, sizeof(key), "k%d", i);
		assert_true(hashmap_put(m, key, (size_t)n, malloc(16)));
	}
	freed = 0;
	hashmap_free(m, count_free);
	assert_int_equal(freed, 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_get_replace_remove),
		cmocka_unit_test(test_keys_are_byte_strings),
		cmocka_unit_test(test_growth_and_iteration),
		cmocka_unit_test(test_free_calls_free_value),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
