/* Unit tests for the identity-provider log parsers (keycloak, okta, oauth): the grant and the
 * identity each extracts, lines that say nothing about tokens, and bad lines. */
#include "parsers/log_idp.h"

#include "log_test_harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static void keycloak_json_log_code_to_token(void **s)
{
	(void)s;
	json_t *out;
	const char *reason;
	const char *line =
		"{\"timestamp\":\"2026-08-27T10:00:00.100Z\",\"loggerName\":\"org.keycloak."
		"events\","
		"\"level\":\"DEBUG\",\"message\":\"type=\\\"CODE_TO_TOKEN\\\", "
		"realmId=\\\"5f1c\\\", "
		"realmName=\\\"mcp\\\", clientId=\\\"https://agent.example.com/c.json\\\", "
		"userId=\\\"alice\\\", sessionId=\\\"s1\\\", ipAddress=\\\"10.0.0.5\\\", "
		"token_id=\\\"at-1\\\", grant_type=\\\"authorization_code\\\", scope=\\\"openid "
		"tools:read\\\", refresh_token_id=\\\"rt-1\\\"\"}";
	assert_true(log_parser_keycloak.detect(line, strlen(line)) >= 90);
	assert_int_equal(lth_parse(&log_parser_keycloak, NULL, line, &out, &reason), LOG_PARSE_OK);
	assert_int_equal(json_array_size(out), 1);
	assert_string_equal(lth_str(out, "kind"), "grant");
	assert_string_equal(lth_str(out, "grant_type"), "authorization_code");
	assert_string_equal(lth_str(out, "token_id"), "at-1");
	assert_string_equal(lth_str(out, "refresh_token_id"), "rt-1");
	assert_string_equal(lth_str(out, "session_id"), "s1");
	assert_string_equal(lth_str(out, "src_addr"), "10.0.0.5");
	assert_string_equal(lth_str(out, "event_kind"), "CODE_TO_TOKEN");
	assert_true(json_is_true(json_object_get(json_array_get(out, 0), "success")));
	assert_string_equal(lth_id(out, "subject"), "alice");
	assert_string_equal(lth_id(out, "issuer"), "keycloak:mcp");
	assert_string_equal(lth_id(out, "client_id"), "https://agent.example.com/c.json");
	assert_int_equal(json_array_size(lth_id_array(out, "scopes")), 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(out, 0), "time_ns")),
			 1787824800100000000LL);
	json_decref(out);
}

static void keycloak_rest_and_text(void **s)
{
	(void)s;
	json_t *out;
	const char *reason;
	const char *rest = "{\"time\":1787824920000,\"type\":\"TOKEN_EXCHANGE\",\"realmId\":\"r1\","
			   "\"clientId\":\"gw\",\"userId\":\"alice\",\"details\":{\"grant_type\":"
			   "\"urn:ietf:params:oauth:grant-type:token-exchange\",\"token_id\":"
			   "\"at-3\",\"audience\":\"github\",\"requested_token_type\":"
			   "\"urn:ietf:params:oauth:token-type:access_token\"}}";
	assert_int_equal(lth_parse(&log_parser_keycloak, NULL, rest, &out, &reason), LOG_PARSE_OK);
	assert_string_equal(lth_str(out, "grant_type"), "token_exchange");
	assert_string_equal(lth_str(out, "audience"), "github");
	assert_string_equal(lth_str(out, "token_id"), "at-3");
	assert_string_equal(lth_id(out, "issuer"), "keycloak:r1");
	json_decref(out);
	const char *err =
		"{\"time\":1787824980000,\"type\":\"CLIENT_LOGIN_ERROR\",\"realmId\":\"r1\","
		"\"clientId\":\"rogue\",\"error\":\"invalid_client_credentials\"}";
	assert_int_equal(lth_parse(&log_parser_keycloak, NULL, err, &out, &reason), LOG_PARSE_OK);
	assert_string_equal(lth_str(out, "grant_type"), "client_credentials");
	assert_true(json_is_false(json_object_get(json_array_get(out, 0), "success")));
	assert_string_equal(lth_str(out, "error"), "invalid_client_credentials");
	json_decref(out);
	const char *text = "2026-08-27 10:05:00,250 DEBUG [org.keycloak.events] (t-3) "
			   "type=REFRESH_TOKEN, realmId=r1, clientId=app, userId=bob, "
			   "token_id=at-4, scope=\"a b\"";
	assert_int_equal(lth_parse(&log_parser_keycloak, NULL, text, &out, &reason), LOG_PARSE_OK);
	assert_string_equal(lth_str(out, "grant_type"), "refresh_token");
	assert_string_equal(lth_id(out, "subject"), "bob");
	assert_string_equal(lth_str(out, "token_id"), "at-4");
	assert_int_equal(json_array_size(lth_id_array(out, "scopes")), 2);
	json_decref(out);
}

static void keycloak_skips_and_bad(void **s)
{
	(void)s;
	json_t *out;
	const char *reason;
	const char *login = "{\"time\":1787824980000,\"type\":\"LOGIN\",\"realmId\":\"r1\","
			    "\"clientId\":\"c\"}";
	assert_int_equal(lth_parse(&log_parser_keycloak, NULL, login, &out, &reason),
			 LOG_PARSE_SKIP);
	assert_int_equal(json_array_size(out), 0);
	json_decref(out);
	const char *bad[] = {
		"{\"time\":\"yesterday\",\"type\":\"CLIENT_LOGIN\",\"realmId\":\"r\"}",
		"{\"time\":1787824980000,\"type\":\"CLIENT_LOGIN\"",
		"2026-08-27 10:05:00 DEBUG [org.keycloak.events] type=CLIENT_LOGIN",
		"plain text",
		"{\"time\":1,\"type\":\"\xff\"}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(lth_parse(&log_parser_keycloak, NULL, bad[i], &out, &reason),
				 LOG_PARSE_BAD);
		assert_non_null(reason);
		assert_int_equal(json_array_size(out), 0);
		json_decref(out);
	}
	/* wrong types are ignored, not trusted */
	const char *types = "{\"time\":1787824980000,\"type\":\"CLIENT_LOGIN\",\"realmId\":7,"
			    "\"clientId\":[1],\"userId\":{},\"details\":[]}";
	assert_int_equal(lth_parse(&log_parser_keycloak, NULL, types, &out, &reason), LOG_PARSE_OK);
	assert_null(lth_id(out, "subject"));
	assert_null(lth_id(out, "issuer"));
	json_decref(out);
}

static void okta_access_token(void **s)
{
	(void)s;
	json_t *out;
	const char *reason;
	const char *line =
		"{\"published\":\"2026-08-27T10:00:00.000Z\",\"eventType\":"
		"\"app.oauth2.as.token.grant.access_token\",\"actor\":{\"id\":\"0oa1\",\"type\":"
		"\"PublicClientApp\"},\"client\":{\"userAgent\":{\"rawUserAgent\":\"ua/1\"},"
		"\"ipAddress\":\"198.51.100.7\"},\"authenticationContext\":{\"externalSessionId\":"
		"\"x1\"},\"outcome\":{\"result\":\"SUCCESS\"},\"debugContext\":{\"debugData\":{"
		"\"grantType\":\"authorization_code\",\"grantedScopes\":\"openid mcp:tools\"}},"
		"\"target\":[{\"id\":\"AT.1\",\"type\":\"access_token\",\"detailEntry\":{"
		"\"expires\":\"2026-08-27T11:00:00Z\",\"subject\":\"00u1\"}},{\"id\":\"aus1\","
		"\"type\":\"AuthorizationServer\",\"alternateId\":\"https://x.okta.com/oauth2/"
		"aus1\"}]}";
	assert_true(log_parser_okta.detect(line, strlen(line)) >= 90);
	assert_int_equal(lth_parse(&log_parser_okta, NULL, line, &out, &reason), LOG_PARSE_OK);
	assert_string_equal(lth_str(out, "grant_type"), "authorization_code");
	assert_string_equal(lth_str(out, "token_id"), "AT.1");
	assert_string_equal(lth_str(out, "user_agent"), "ua/1");
	assert_string_equal(lth_str(out, "session_id"), "x1");
	assert_string_equal(lth_str(out, "issued_token_type"),
			    "urn:ietf:params:oauth:token-type:access_token");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(out, 0), "expires_ns")),
			 1787828400000000000LL);
	assert_string_equal(lth_id(out, "subject"), "00u1");
	assert_string_equal(lth_id(out, "client_id"), "0oa1");
	assert_string_equal(lth_id(out, "issuer"), "https://x.okta.com/oauth2/aus1");
	assert_int_equal(json_array_size(lth_id_array(out, "scopes")), 2);
	json_decref(out);
	const char *cc = "{\"published\":\"2026-08-27T10:00:00Z\",\"eventType\":"
			 "\"app.oauth2.token.grant.access_token\",\"actor\":{\"id\":\"0oa2\","
			 "\"type\":\"PublicClientApp\"},\"outcome\":{\"result\":\"FAILURE\","
			 "\"reason\":\"invalid_client\"},\"debugContext\":{\"debugData\":{"
			 "\"grantType\":\"client_credentials\"}}}";
	assert_int_equal(lth_parse(&log_parser_okta, NULL, cc, &out, &reason), LOG_PARSE_OK);
	assert_true(json_is_false(json_object_get(json_array_get(out, 0), "success")));
	assert_string_equal(lth_str(out, "error"), "invalid_client");
	assert_string_equal(lth_id(out, "subject"), "0oa2");
	assert_string_equal(lth_id(out, "issuer"), "okta");
	json_decref(out);
	const char *other = "{\"published\":\"2026-08-27T10:00:00Z\",\"eventType\":"
			    "\"user.session.start\"}";
	assert_int_equal(lth_parse(&log_parser_okta, NULL, other, &out, &reason), LOG_PARSE_SKIP);
	json_decref(out);
	const char *bad[] = {"{\"eventType\":42}", "[1]",
			     "{\"eventType\":\"app.oauth2.token.grant.access_token\"}"};
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(lth_parse(&log_parser_okta, NULL, bad[i], &out, &reason),
				 LOG_PARSE_BAD);
		assert_non_null(reason);
		json_decref(out);
	}
}

static void oauth_lines(void **s)
{
	(void)s;
	json_t *out;
	const char *reason;
	const char *jag =
		"{\"time\":\"2026-08-27T10:02:00Z\",\"issuer\":\"https://idp\",\"grant_type\":"
		"\"urn:ietf:params:oauth:grant-type:token-exchange\",\"requested_token_type\":"
		"\"urn:ietf:params:oauth:token-type:id-jag\",\"client_id\":\"https://a/c.json\","
		"\"subject\":\"alice\",\"scopes\":[\"t:r\",\"t:w\"],\"audience\":[\"https://mcp\"],"
		"\"jti\":\"j3\",\"exp\":1787828400,\"act\":{\"sub\":\"agent-7\",\"act\":{\"sub\":"
		"\"orch\"}}}";
	assert_true(log_parser_oauth.detect(jag, strlen(jag)) >= 80);
	assert_int_equal(lth_parse(&log_parser_oauth, NULL, jag, &out, &reason), LOG_PARSE_OK);
	assert_string_equal(lth_str(out, "grant_type"), "token_exchange");
	assert_string_equal(lth_str(out, "requested_token_type"),
			    "urn:ietf:params:oauth:token-type:id-jag");
	assert_string_equal(lth_str(out, "audience"), "https://mcp");
	assert_string_equal(lth_str(out, "token_id"), "j3");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(out, 0), "expires_ns")),
			 1787828400000000000LL);
	json_t *actors = lth_id_array(out, "actors");
	assert_int_equal(json_array_size(actors), 2);
	assert_string_equal(json_string_value(json_array_get(actors, 0)), "agent-7");
	assert_string_equal(json_string_value(json_array_get(actors, 1)), "orch");
	assert_int_equal(json_array_size(lth_id_array(out, "scopes")), 2);
	assert_string_equal(lth_id(out, "issuer"), "https://idp");
	json_decref(out);
	const char *jwt = "{\"time\":1787824860,\"grant_type\":\"urn:ietf:params:oauth:grant-type:"
			  "jwt-bearer\",\"sub\":\"bob\",\"scope\":\"a b\",\"actor\":[\"x\"],"
			  "\"error\":\"invalid_grant\"}";
	assert_int_equal(lth_parse(&log_parser_oauth, NULL, jwt, &out, &reason), LOG_PARSE_OK);
	assert_string_equal(lth_str(out, "grant_type"), "jwt_bearer");
	assert_true(json_is_false(json_object_get(json_array_get(out, 0), "success")));
	assert_string_equal(lth_id(out, "subject"), "bob");
	assert_int_equal(json_array_size(lth_id_array(out, "actors")), 1);
	json_decref(out);
	const char *bad[] = {"{\"grant_type\":\"client_credentials\"}",
			     "{\"time\":1787824860,\"grant_type\":7}", "{\"time\":1787824860,",
			     "nope"};
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(lth_parse(&log_parser_oauth, NULL, bad[i], &out, &reason),
				 LOG_PARSE_BAD);
		assert_non_null(reason);
		json_decref(out);
	}
}

static void detection_picks_the_right_parser(void **s)
{
	(void)s;
	const char *kc =
		"{\"time\":1,\"type\":\"CLIENT_LOGIN\",\"realmId\":\"r\",\"clientId\":\"c\","
		"\"details\":{\"grant_type\":\"client_credentials\"}}";
	const char *oa = "{\"time\":1,\"grant_type\":\"client_credentials\",\"jti\":\"j\"}";
	const char *ok = "{\"published\":\"x\",\"eventType\":\"app.oauth2.token.grant\"}";
	assert_ptr_equal(log_parser_detect(kc, strlen(kc)), &log_parser_keycloak);
	assert_ptr_equal(log_parser_detect(oa, strlen(oa)), &log_parser_oauth);
	assert_ptr_equal(log_parser_detect(ok, strlen(ok)), &log_parser_okta);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(keycloak_json_log_code_to_token),
		cmocka_unit_test(keycloak_rest_and_text),
		cmocka_unit_test(keycloak_skips_and_bad),
		cmocka_unit_test(okta_access_token),
		cmocka_unit_test(oauth_lines),
		cmocka_unit_test(detection_picks_the_right_parser),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
