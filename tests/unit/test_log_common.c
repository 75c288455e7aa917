/* Unit tests for parsers/log_common.c: times (offsets, fractions, epochs), durations, dotted paths
 * (flat keys and nested objects), identities, and the canonical outcome and grant-type words. */
#include "parsers/log_common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static void times(void **s)
{
	(void)s;
	int64_t ns;
	assert_true(log_parse_time("2026-08-27T10:00:00Z", &ns));
	assert_int_equal(ns, 1787824800000000000LL);
	assert_true(log_parse_time("2026-08-27T10:00:00.789058Z", &ns));
	assert_int_equal(ns, 1787824800789058000LL);
	assert_true(log_parse_time("2026-08-27T10:00:00.123456789123Z", &ns)); /* cut at ns */
	assert_int_equal(ns, 1787824800123456789LL);
	assert_true(log_parse_time("2026-08-27T12:00:00+02:00", &ns));
	assert_int_equal(ns, 1787824800000000000LL);
	assert_true(log_parse_time("2026-08-27T05:30:00-0430", &ns));
	assert_int_equal(ns, 1787824800000000000LL);
	assert_true(log_parse_time("2026-08-27 10:00:00,5", &ns)); /* space, comma, no zone */
	assert_int_equal(ns, 1787824800500000000LL);
	assert_true(log_parse_time("2026-08-27 10:00:00 UTC", &ns));
	assert_int_equal(ns, 1787824800000000000LL);
	const char *bad[] = {"",
			     "2026-08-27",
			     "2026-13-01T00:00:00Z",
			     "2026-08-27T25:00:00Z",
			     "2026-08-27T10:00:00.Z",
			     "2026-08-27T10:00:00+2",
			     "2026-08-27T10:00:00Zx",
			     "2026/08/27 10:00:00",
			     "1969-12-31T23:59:59Z",
			     "yesterday"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(log_parse_time(bad[i], &ns));
	assert_false(log_parse_time(NULL, &ns));
	/* epochs: unit given or guessed from the magnitude, without losing nanoseconds */
	assert_true(log_epoch_to_ns(1787824800, NULL, &ns));
	assert_int_equal(ns, 1787824800000000000LL);
	assert_true(log_epoch_to_ns(1787824800250.0, NULL, &ns));
	assert_int_equal(ns, 1787824800250000000LL);
	assert_true(log_epoch_to_ns(1787824800250123.0, "us", &ns));
	assert_int_equal(ns, 1787824800250123000LL);
	assert_true(log_epoch_to_ns(1.5, "s", &ns));
	assert_int_equal(ns, 1500000000LL);
	assert_false(log_epoch_to_ns(-1, NULL, &ns));
	assert_false(log_epoch_to_ns(1e30, "s", &ns));
	assert_false(log_epoch_to_ns(1, "minutes", &ns));
	json_t *o = json_pack("{s:s, s:i, s:s, s:s}", "a", "2026-08-27T10:00:00Z", "b", 1787824800,
			      "c", "1787824800", "d", "soon");
	assert_true(log_get_time(o, "a", &ns));
	assert_true(log_get_time(o, "b", &ns));
	assert_int_equal(ns, 1787824800000000000LL);
	assert_true(log_get_time(o, "c", &ns));
	assert_false(log_get_time(o, "d", &ns));
	assert_false(log_get_time(o, "missing", &ns));
	json_decref(o);
}

static void durations(void **s)
{
	(void)s;
	double ms;
	assert_true(log_parse_duration_ms("4ms", &ms));
	assert_true(ms == 4.0);
	assert_true(log_parse_duration_ms("1.5s", &ms));
	assert_true(ms == 1500.0);
	assert_true(log_parse_duration_ms("250\xc2\xb5s", &ms)); /* micro sign */
	assert_true(ms == 0.25);
	assert_true(log_parse_duration_ms("250\xce\xbcs", &ms)); /* Greek mu */
	assert_true(ms == 0.25);
	assert_true(log_parse_duration_ms("250us", &ms));
	assert_true(ms == 0.25);
	assert_true(log_parse_duration_ms("1m2.5s", &ms));
	assert_true(ms == 62500.0);
	assert_true(log_parse_duration_ms("2h", &ms));
	assert_true(ms == 7200000.0);
	assert_true(log_parse_duration_ms("100ns", &ms));
	assert_true(ms > 0.0000999 && ms < 0.0001001);
	assert_true(log_parse_duration_ms("12", &ms)); /* a bare number is ms */
	assert_true(ms == 12.0);
	const char *bad[] = {"", "ms", "4 ms", "1m5", "-3s", "4days", "1e999s", "abc"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(log_parse_duration_ms(bad[i], &ms));
	assert_false(log_parse_duration_ms(NULL, &ms));
}

static void paths(void **s)
{
	(void)s;
	json_error_t e;
	json_t *o =
		json_loads("{\"mcp.method.name\":\"tools/call\",\"subjects\":{\"user\":\"alice\"},"
			   "\"source\":{\"extra\":{\"session_id\":\"s1\"}},\"source.extra\":{"
			   "\"other\":1},\"n\":null,\"i\":\"42\",\"f\":1.5,\"b\":\"true\","
			   "\"z\":0,\"big\":1e300,\"list\":[1]}",
			   0, &e);
	assert_non_null(o);
	assert_string_equal(log_get_str(o, "mcp.method.name"), "tools/call"); /* flat dotted key */
	assert_string_equal(log_get_str(o, "subjects.user"), "alice");	      /* nested */
	assert_string_equal(log_get_str(o, "source.extra.session_id"), "s1");
	assert_int_equal(json_integer_value(log_get(o, "source.extra.other")), 1);
	assert_null(log_get(o, "n"));
	assert_null(log_get(o, "subjects.user.x"));
	assert_null(log_get(o, "nothing.here"));
	assert_null(log_get_str(o, "f"));
	assert_null(log_get(NULL, "a"));
	char buf[32];
	assert_string_equal(log_get_text(o, "f", buf, sizeof(buf)), "1.5");
	assert_string_equal(log_get_text(o, "z", buf, sizeof(buf)), "0");
	assert_null(log_get_text(o, "list", buf, sizeof(buf)));
	int64_t i;
	assert_true(log_get_int(o, "i", &i));
	assert_int_equal(i, 42);
	assert_false(log_get_int(o, "big", &i));
	assert_false(log_get_int(o, "b", &i));
	double d;
	assert_true(log_get_number(o, "i", &d));
	assert_true(d == 42.0);
	assert_false(log_get_number(o, "b", &d));
	bool b;
	assert_true(log_get_bool(o, "b", &b));
	assert_true(b);
	assert_true(log_get_bool(o, "z", &b));
	assert_false(b);
	assert_false(log_get_bool(o, "i", &b));
	json_decref(o);
}

static void json_lines(void **s)
{
	(void)s;
	const char *reason = NULL;
	struct log_line ok = {"{\"a\":1}\r ", 9, "x", 1};
	json_t *o = log_json_object(&ok, &reason);
	assert_non_null(o);
	json_decref(o);
	struct log_line arr = {"[1]", 3, "x", 1};
	assert_null(log_json_object(&arr, &reason));
	assert_string_equal(reason, "not a JSON object");
	struct log_line trunc = {"{\"a\":", 5, "x", 1};
	assert_null(log_json_object(&trunc, &reason));
	struct log_line utf = {"{\"a\":\"\xff\"}", 9, "x", 1};
	assert_null(log_json_object(&utf, &reason));
	assert_string_equal(reason, "invalid UTF-8");
}

static void identities_and_words(void **s)
{
	(void)s;
	json_t *id = log_identity_new("alice", NULL, "cli", NULL);
	assert_string_equal(json_string_value(json_object_get(id, "source")), "gateway_log");
	assert_true(json_is_null(json_object_get(id, "issuer")));
	log_identity_add_scopes(id, "a b,c  a");
	json_t *arr = json_pack("[s, i, s]", "d", 5, "a e");
	log_identity_add_scope_array(id, arr);
	json_decref(arr);
	assert_int_equal(json_array_size(json_object_get(id, "scopes")), 5);
	log_identity_add_actor(id, "agent");
	log_identity_add_actor(id, "");
	log_identity_add_actor(id, NULL);
	assert_int_equal(json_array_size(json_object_get(id, "actors")), 1);
	log_identity_set_token_id(id, "j1", true, 1787828400);
	json_t *tok = json_object_get(id, "token");
	assert_string_equal(json_string_value(json_object_get(tok, "jti")), "j1");
	assert_int_equal(json_integer_value(json_object_get(tok, "exp")), 1787828400);
	json_decref(id);

	assert_string_equal(log_outcome_canonical("SUCCESS"), "ok");
	assert_string_equal(log_outcome_canonical("Forbidden"), "denied");
	assert_string_equal(log_outcome_canonical("application_error"), "tool_error");
	assert_string_equal(log_outcome_canonical("failure"), "error");
	assert_string_equal(log_outcome_canonical("canceled"), "cancelled");
	assert_null(log_outcome_canonical("maybe"));
	assert_null(log_outcome_canonical(NULL));
	assert_string_equal(log_outcome_from_http(200), "ok");
	assert_string_equal(log_outcome_from_http(401), "denied");
	assert_string_equal(log_outcome_from_http(403), "denied");
	assert_string_equal(log_outcome_from_http(502), "error");
	assert_null(log_outcome_from_http(0));
	assert_string_equal(log_grant_type_canonical("CODE_TO_TOKEN"), "authorization_code");
	assert_string_equal(
		log_grant_type_canonical("urn:ietf:params:oauth:grant-type:token-exchange"),
		"token_exchange");
	assert_string_equal(log_grant_type_canonical("urn:ietf:params:oauth:grant-type:jwt-bearer"),
			    "jwt_bearer");
	assert_string_equal(
		log_grant_type_canonical("urn:ietf:params:oauth:grant-type:device_code"),
		"device_code");
	assert_string_equal(log_grant_type_canonical("CLIENT_LOGIN"), "client_credentials");
	assert_string_equal(log_grant_type_canonical("saml2-bearer"), "other");
	assert_null(log_grant_type_canonical(NULL));

	struct log_strings st = {0};
	for (int i = 0; i < 40; i++) {
		const char *c = log_strings_add(&st, "abc", 2);
		if (i < 32)
			assert_string_equal(c, "ab");
		else
			assert_null(c); /* full */
	}
	log_strings_free(&st);
	assert_int_equal(st.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(times),
		cmocka_unit_test(durations),
		cmocka_unit_test(paths),
		cmocka_unit_test(json_lines),
		cmocka_unit_test(identities_and_words),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
