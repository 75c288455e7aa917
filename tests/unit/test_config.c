/* Unit tests for collector/config: the `mcptrail collect` configuration, validated from the option
 * tables. What a user notices: defaults, every problem reported with the file and JSON path,
 * nothing accepted that the daemon would trip over later. */
#include "collector/config.h"

#include "collector/util.h"
#include "sinks/encode.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define MINIMAL                                                                                    \
	"\"state_dir\": \"/var/lib/mcptrail\", \"inputs\": [{\"type\": \"stdin\"}], \"sinks\": "   \
	"[{\"uri\": \"file:/tmp/mcptrail-test-events.jsonl\"}]"

static struct collect_config *parse(const char *text, struct strbuf *errors)
{
	strbuf_reset(errors);
	return config_parse(text, strlen(text), "collect.json", errors);
}

/* The configuration is refused and one of the error lines is exactly "collect.json: " + line. */
static void expect_error(const char *text, const char *line)
{
	struct strbuf errors = STRBUF_INIT;
	struct collect_config *cfg = parse(text, &errors);
	if (cfg || !errors.data) {
		fail_msg("accepted: %s", text);
	}
	char want[1024];
	snprintf(want, sizeof(want), "collect.json: %s\n", line);
	if (!strstr(errors.data, want))
		fail_msg("expected the line\n  %s\ngot\n%s", want, errors.data);
	config_free(cfg);
	strbuf_free(&errors);
}

static void test_minimal_gets_defaults(void **state)
{
	(void)state;
	struct strbuf errors = STRBUF_INIT;
	struct collect_config *cfg = parse("{" MINIMAL "}", &errors);
	assert_non_null(cfg);
	assert_null(errors.data);
	assert_string_equal(cfg->state_dir, "/var/lib/mcptrail");
	assert_int_equal(cfg->ninputs, 1);
	assert_int_equal(cfg->inputs[0].type, COLLECT_INPUT_STDIN);
	assert_string_equal(cfg->inputs[0].name, "stdin");
	assert_int_equal(cfg->inputs[0].max_line, 16u << 20);
	assert_int_equal(cfg->nsinks, 1);
	assert_int_equal(cfg->sinks[0].encode, ENCODING_JSON);
	assert_int_equal(cfg->arguments_cap, 4096);
	assert_true(cfg->request_timeout_s == 300);
	assert_true(cfg->task_timeout_s == 3600);
	assert_int_equal(cfg->max_pending, 1000000);
	assert_null(cfg->metrics_listen);
	assert_true(cfg->health_stall_s == 60);
	/* derived from state_dir */
	assert_string_equal(cfg->spool_dir, "/var/lib/mcptrail/spool");
	assert_string_equal(cfg->fingerprint_key, "/var/lib/mcptrail/fingerprint.key");
	assert_int_equal(cfg->spool_max_bytes, 1u << 30);
	assert_int_equal(cfg->spool_segment_bytes, 8u << 20);
	assert_int_equal(cfg->spool_full_policy, COLLECT_FULL_BLOCK);
	assert_false(cfg->spool_fsync);
	assert_true(cfg->shutdown_drain_s == 5);
	config_free(cfg);
	config_free(NULL);
}

static void test_full_configuration(void **state)
{
	(void)state;
	const char *text =
		"{\"state_dir\": \"/srv/mt\","
		" \"inputs\": ["
		"  {\"type\": \"file\", \"path\": \"/var/log/tap.jsonl\", \"start_at\": \"end\","
		"   \"max_line\": \"2M\", \"poll_ms\": 50},"
		"  {\"type\": \"tcp\", \"listen\": \"127.0.0.1:7400\", \"max_connections\": 8,"
		"   \"name\": \"live\"},"
		"  {\"type\": \"udp\", \"listen\": \"[::1]:7401\"}],"
		" \"sinks\": [{\"uri\": \"file:/tmp/mcptrail-test-events.jsonl?rotate_bytes=1M\"},"
		"  {\"uri\": \"syslog+tcp://127.0.0.1:6514?framing=newline\", \"encode\": \"cef\"},"
		"  {\"uri\": \"kafka://127.0.0.1:9092/mcptrail?key=identity\", \"encode\": "
		"\"ocsf\"}],"
		" \"redaction\": {\"rules\": [{\"name\": \"acme\", \"pattern\": \"acme_[a-z]{8}\"},"
		"  {\"name\": \"corp\", \"pattern\": \"corp-\\\\d+\", \"replacement\": "
		"\"[CORP]\"}],"
		"  \"arguments_cap\": 1024},"
		" \"identity\": {\"fingerprint_key\": \"/etc/mt/fp.key\"},"
		" \"correlator\": {\"request_timeout_s\": 1.5, \"max_pending\": 10},"
		" \"metrics\": {\"listen\": \"127.0.0.1:9100\", \"health_stall_s\": 10},"
		" \"spool\": {\"dir\": \"/fast/spool\", \"max_bytes\": 1073741824,"
		"  \"segment_bytes\": \"1M\", \"full_policy\": \"drop_oldest\", \"fsync\": true},"
		" \"shutdown_drain_s\": 0}";
	struct strbuf errors = STRBUF_INIT;
	struct collect_config *cfg = parse(text, &errors);
	if (!cfg)
		fail_msg("%s", errors.data);
	assert_int_equal(cfg->ninputs, 3);
	assert_int_equal(cfg->inputs[0].type, COLLECT_INPUT_FILE);
	assert_string_equal(cfg->inputs[0].path, "/var/log/tap.jsonl");
	assert_string_equal(cfg->inputs[0].name, "/var/log/tap.jsonl");
	assert_int_equal(cfg->inputs[0].start_at, COLLECT_START_END);
	assert_int_equal(cfg->inputs[0].max_line, 2u << 20);
	assert_int_equal(cfg->inputs[0].poll_ms, 50);
	assert_int_equal(cfg->inputs[1].type, COLLECT_INPUT_TCP);
	assert_string_equal(cfg->inputs[1].name, "live");
	assert_int_equal(cfg->inputs[1].max_connections, 8);
	assert_int_equal(cfg->inputs[2].type, COLLECT_INPUT_UDP);
	assert_string_equal(cfg->inputs[2].name, "udp://[::1]:7401");
	assert_int_equal(cfg->inputs[2].max_line, 64u << 10);
	assert_int_equal(cfg->nsinks, 3);
	assert_int_equal(cfg->sinks[1].encode, ENCODING_CEF);
	assert_int_equal(cfg->sinks[2].encode, ENCODING_OCSF);
	assert_int_equal(cfg->nrules, 2);
	assert_string_equal(cfg->rules[1].pattern, "corp-\\d+");
	assert_string_equal(cfg->rules[1].replacement, "[CORP]");
	assert_null(cfg->rules[0].replacement);
	assert_int_equal(cfg->arguments_cap, 1024);
	assert_string_equal(cfg->fingerprint_key, "/etc/mt/fp.key");
	assert_true(cfg->request_timeout_s == 1.5);
	assert_int_equal(cfg->max_pending, 10);
	assert_string_equal(cfg->metrics_listen, "127.0.0.1:9100");
	assert_string_equal(cfg->spool_dir, "/fast/spool");
	assert_int_equal(cfg->spool_segment_bytes, 1u << 20);
	assert_int_equal(cfg->spool_full_policy, COLLECT_FULL_DROP_OLDEST);
	assert_true(cfg->spool_fsync);
	assert_true(cfg->shutdown_drain_s == 0);
	config_free(cfg);
	strbuf_free(&errors);
}

static void test_unknown_keys_name_their_path(void **state)
{
	(void)state;
	expect_error("{" MINIMAL ", \"sinkz\": []}",
		     "unknown key \"sinkz\" (expected one of: state_dir, inputs, sinks, redaction, "
		     "identity, correlator, metrics, spool, shutdown_drain_s)");
	expect_error(
		"{\"state_dir\": \"/s\", \"inputs\": [{\"type\": \"stdin\"}, {\"type\": \"file\", "
		"\"path\": \"/x\", \"pth\": 1}], \"sinks\": [{\"uri\": \"-\"}]}",
		"inputs[1]: unknown key \"pth\" (expected one of: type, path, format, "
		"parser_config, name, start_at, max_line, poll_ms)");
	/* a key of another input type is unknown for this one */
	expect_error(
		"{\"state_dir\": \"/s\", \"inputs\": [{\"type\": \"stdin\", \"path\": \"/x\"}], "
		"\"sinks\": [{\"uri\": \"-\"}]}",
		"inputs[0]: unknown key \"path\" (expected one of: type, format, parser_config, "
		"name, "
		"max_line)");
	expect_error(
		"{" MINIMAL ", \"spool\": {\"fsnyc\": true}}",
		"spool: unknown key \"fsnyc\" (expected one of: dir, max_bytes, segment_bytes, "
		"full_policy, fsync)");
	expect_error("{" MINIMAL
		     ", \"redaction\": {\"rules\": [{\"name\": \"a\", \"pattern\": \"b\", "
		     "\"flags\": \"i\"}]}}",
		     "redaction.rules[0]: unknown key \"flags\" (expected one of: name, pattern, "
		     "replacement)");
}

static void test_types_and_ranges(void **state)
{
	(void)state;
	expect_error(
		"{\"state_dir\": [], \"inputs\": [{\"type\": \"stdin\"}], \"sinks\": [{\"uri\": "
		"\"-\"}]}",
		"state_dir: expected a string like \"/var/lib/mcptrail\", got []");
	expect_error(
		"{\"state_dir\": \"\", \"inputs\": [{\"type\": \"stdin\"}], \"sinks\": [{\"uri\": "
		"\"-\"}]}",
		"state_dir: expected a non-empty string like \"/var/lib/mcptrail\", got \"\"");
	expect_error("{" MINIMAL ", \"correlator\": {\"request_timeout_s\": \"300\"}}",
		     "correlator.request_timeout_s: expected a number of seconds from 1 to 604800, "
		     "got \"300\"");
	expect_error("{" MINIMAL ", \"correlator\": {\"max_pending\": 1.5}}",
		     "correlator.max_pending: expected an integer from 1 to 100000000, got 1.5");
	expect_error(
		"{" MINIMAL ", \"spool\": {\"max_bytes\": \"1K\"}}",
		"spool.max_bytes: expected a size (bytes, or a string like \"1G\" with K, M or "
		"G) from 1048576 to 1099511627776 bytes, got \"1K\"");
	expect_error("{" MINIMAL ", \"spool\": {\"fsync\": 1}}",
		     "spool.fsync: expected true or false, got 1");
	expect_error("{" MINIMAL ", \"spool\": {\"max_bytes\": \"2M\", \"segment_bytes\": \"4M\"}}",
		     "spool.segment_bytes: larger than spool.max_bytes");
	expect_error("{" MINIMAL ", \"metrics\": {\"listen\": \"localhost:9100\"}}",
		     "metrics.listen: expected \"HOST:PORT\" with a numeric address, like "
		     "\"127.0.0.1:7400\", got \"localhost:9100\": 'localhost' is not a numeric IP "
		     "address");
	expect_error("{" MINIMAL ", \"metrics\": {\"listen\": \"127.0.0.1\"}}",
		     "metrics.listen: expected \"HOST:PORT\" with a numeric address, like "
		     "\"127.0.0.1:7400\", got \"127.0.0.1\": no port");
	expect_error("{\"state_dir\": \"/s\", \"inputs\": [{\"type\": 7}], \"sinks\": [{\"uri\": "
		     "\"-\"}]}",
		     "inputs[0].type: expected one of \"file\", \"stdin\", \"tcp\", \"udp\", "
		     "\"capture_dir\", \"otlp_http\", got 7");
	expect_error(
		"{\"state_dir\": \"/s\", \"inputs\": [\"stdin\"], \"sinks\": [{\"uri\": \"-\"}]}",
		"inputs[0]: expected an object, got \"stdin\"");
	expect_error("[1, 2]", "expected an object, got [1,2]");
}

static void test_required_and_counts(void **state)
{
	(void)state;
	expect_error("{}", "state_dir: missing (required): directory for input checkpoints, the "
			   "spool and the fingerprint key (created 0700)");
	expect_error("{\"state_dir\": \"/s\", \"sinks\": [{\"uri\": \"-\"}]}",
		     "inputs: missing (required): where tap records come from (at least one)");
	expect_error("{\"state_dir\": \"/s\", \"inputs\": [], \"sinks\": [{\"uri\": \"-\"}]}",
		     "inputs: expected at least 1 entries, got 0");
	expect_error("{\"state_dir\": \"/s\", \"inputs\": [{\"type\": \"tcp\"}], \"sinks\": "
		     "[{\"uri\": \"-\"}]}",
		     "inputs[0].listen: missing (required): address to accept connections on; each "
		     "sends tap record lines (`mcptrail tap --out tcp://HOST:PORT`)");
	expect_error(
		"{\"state_dir\": \"/s\", \"inputs\": [{\"type\": \"stdin\"}], \"sinks\": [{}]}",
		"sinks[0].uri: missing (required): where events go: file:PATH[?options] "
		"(appends unless mode=truncate), syslog+udp|tcp|tls://HOST:PORT[?options], "
		"kafka://HOST:PORT[,HOST:PORT]/TOPIC[?options]");
}

static void test_every_error_is_reported(void **state)
{
	(void)state;
	struct strbuf errors = STRBUF_INIT;
	struct collect_config *cfg = parse("{\"state_dir\": 1, \"inputs\": [{\"type\": \"x\"}], "
					   "\"sinks\": [{\"uri\": \"-\", \"encode\": \"xml\"}], "
					   "\"metrics\": 5}",
					   &errors);
	assert_null(cfg);
	size_t lines = 0;
	for (const char *p = errors.data; p && *p; p++)
		lines += *p == '\n';
	assert_int_equal(lines, 4);
	assert_non_null(strstr(errors.data, "collect.json: state_dir: "));
	assert_non_null(strstr(errors.data, "collect.json: inputs[0].type: "));
	assert_non_null(strstr(errors.data, "collect.json: sinks[0].encode: "));
	assert_non_null(strstr(errors.data, "collect.json: metrics: expected an object, got 5"));
	strbuf_free(&errors);
}

static void test_duplicates_and_conflicts(void **state)
{
	(void)state;
	expect_error("{\"state_dir\": \"/s\", \"inputs\": [{\"type\": \"file\", \"path\": \"/a\"}, "
		     "{\"type\": \"file\", \"path\": \"/a\", \"name\": \"other\"}], \"sinks\": "
		     "[{\"uri\": \"-\"}]}",
		     "inputs[1]: the same input as inputs[0] (\"/a\")");
	expect_error("{\"state_dir\": \"/s\", \"inputs\": [{\"type\": \"stdin\"}, {\"type\": "
		     "\"stdin\", \"name\": \"again\"}], \"sinks\": [{\"uri\": \"-\"}]}",
		     "inputs[1]: the same input as inputs[0] (\"stdin\")");
	expect_error("{\"state_dir\": \"/s\", \"inputs\": [{\"type\": \"tcp\", \"listen\": "
		     "\"127.0.0.1:7000\"}, {\"type\": \"file\", \"path\": \"/a\", \"name\": "
		     "\"tcp://127.0.0.1:7000\"}], \"sinks\": [{\"uri\": \"-\"}]}",
		     "inputs[1].name: \"tcp://127.0.0.1:7000\" names inputs[0] already");
	expect_error(
		"{\"state_dir\": \"/s\", \"inputs\": [{\"type\": \"tcp\", \"listen\": "
		"\"127.0.0.1:9100\"}], \"sinks\": [{\"uri\": \"-\"}], \"metrics\": {\"listen\": "
		"\"127.0.0.1:9100\"}}",
		"inputs[0].listen: the same address as metrics.listen");
	expect_error("{\"state_dir\": \"/s\", \"inputs\": [{\"type\": \"stdin\"}], \"sinks\": "
		     "[{\"uri\": \"syslog+udp://127.0.0.1:514\"}, {\"uri\": "
		     "\"syslog+udp://127.0.0.1:514\", \"encode\": \"cef\"}]}",
		     "sinks[1]: the same uri as sinks[0]");
	/* a TCP and a UDP input may share an address */
	struct strbuf errors = STRBUF_INIT;
	struct collect_config *cfg =
		parse("{\"state_dir\": \"/s\", \"inputs\": [{\"type\": \"tcp\", \"listen\": "
		      "\"127.0.0.1:7000\"}, {\"type\": \"udp\", \"listen\": \"127.0.0.1:7000\"}], "
		      "\"sinks\": [{\"uri\": \"-\"}]}",
		      &errors);
	if (!cfg)
		fail_msg("%s", errors.data);
	config_free(cfg);
	strbuf_free(&errors);
}

static void test_sink_uris_checked_by_their_sinks(void **state)
{
	(void)state;
	expect_error(
		"{\"state_dir\": \"/s\", \"inputs\": [{\"type\": \"stdin\"}], \"sinks\": "
		"[{\"uri\": \"/var/log/events.jsonl\"}]}",
		"sinks[0].uri: expected a sink URI: file:PATH, syslog+udp://HOST:PORT, "
		"syslog+tcp://HOST:PORT, syslog+tls://HOST:PORT or kafka://HOST:PORT/TOPIC, got "
		"\"/var/log/events.jsonl\"");
	expect_error("{\"state_dir\": \"/s\", \"inputs\": [{\"type\": \"stdin\"}], \"sinks\": "
		     "[{\"uri\": \"syslog+tcp://127.0.0.1:514?framing=morse\"}]}",
		     "sinks[0].uri: framing: expected octet or newline, got 'morse'");
	expect_error("{\"state_dir\": \"/s\", \"inputs\": [{\"type\": \"stdin\"}], \"sinks\": "
		     "[{\"uri\": \"syslog+sctp://127.0.0.1:514\"}]}",
		     "sinks[0].uri: unknown syslog transport in \"syslog+sctp://127.0.0.1:514\": "
		     "expected syslog+udp://, syslog+tcp:// or syslog+tls://");
	expect_error("{\"state_dir\": \"/s\", \"inputs\": [{\"type\": \"stdin\"}], \"sinks\": "
		     "[{\"uri\": \"file:\"}]}",
		     "sinks[0].uri: expected a path after \"file:\", like "
		     "\"file:/var/log/mcptrail/events.jsonl\"");
	expect_error(
		"{\"state_dir\": \"/s\", \"inputs\": [{\"type\": \"stdin\"}], \"sinks\": "
		"[{\"uri\": \"file:/no/such/dir/events.jsonl\"}]}",
		"sinks[0].uri: file:/no/such/dir/events.jsonl: directory /no/such/dir does not "
		"exist");
}

static void test_redaction_rules_compiled(void **state)
{
	(void)state;
	expect_error(
		"{" MINIMAL ", \"redaction\": {\"rules\": [{\"name\": \"ok\", \"pattern\": "
		"\"x+\"}, {\"name\": \"bad\", \"pattern\": \"a(b\"}]}}",
		"redaction.rules[1]: redaction rule \"bad\": pattern error at offset 3: missing "
		"closing parenthesis");
	expect_error(
		"{" MINIMAL ", \"redaction\": {\"rules\": [{\"name\": \"no spaces\", "
		"\"pattern\": \"x\"}]}}",
		"redaction.rules[0]: redaction rule \"no spaces\": name must be 1 to 64 of A-Z "
		"a-z 0-9 _ . -");
}

static void test_invalid_json_names_line_and_column(void **state)
{
	(void)state;
	struct strbuf errors = STRBUF_INIT;
	assert_null(parse("{\n  \"state_dir\": \"/s\",\n  \"inputs\": [,]\n}", &errors));
	assert_non_null(errors.data);
	assert_int_equal(strncmp(errors.data, "collect.json:3:", 15), 0);
	assert_non_null(strstr(errors.data, "invalid JSON"));
	/* a key given twice is an error, not "the last one wins" */
	assert_null(parse("{" MINIMAL ", \"state_dir\": \"/other\"}", &errors));
	assert_non_null(strstr(errors.data, "invalid JSON: duplicate object key"));
	strbuf_free(&errors);
}

static void test_listen_addresses(void **state)
{
	(void)state;
	char host[64], why[128];
	unsigned port;
	assert_int_equal(
		config_parse_listen("127.0.0.1:7400", host, sizeof(host), &port, why, sizeof(why)),
		0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 7400);
	assert_int_equal(
		config_parse_listen("[::1]:9", host, sizeof(host), &port, why, sizeof(why)), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 9);
	assert_int_equal(config_parse_listen("::1:9", host, sizeof(host), &port, why, sizeof(why)),
			 -1);
	assert_int_equal(
		config_parse_listen("127.0.0.1:0", host, sizeof(host), &port, why, sizeof(why)),
		-1);
	assert_int_equal(
		config_parse_listen("127.0.0.1:65536", host, sizeof(host), &port, why, sizeof(why)),
		-1);
	assert_int_equal(
		config_parse_listen("127.0.0.1:80x", host, sizeof(host), &port, why, sizeof(why)),
		-1);
	assert_int_equal(config_parse_listen(":80", host, sizeof(host), &port, why, sizeof(why)),
			 -1);
}

static void test_reference_lists_every_key(void **state)
{
	(void)state;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	assert_non_null(f);
	config_write_reference(f);
	fclose(f);
	const char *keys[] = {"state_dir",
			      "inputs[].path",
			      "inputs[].listen",
			      "inputs[].max_connections",
			      "sinks[].uri",
			      "sinks[].encode",
			      "redaction.rules[].pattern",
			      "redaction.arguments_cap",
			      "identity.jwks",
			      "correlator.request_timeout_s",
			      "metrics.listen",
			      "metrics.health_stall_s",
			      "spool.full_policy",
			      "shutdown_drain_s"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strstr(text, keys[i]))
			fail_msg("the reference lacks %s", keys[i]);
	assert_non_null(strstr(text, "default 300"));
	assert_non_null(strstr(text, "one of \"block\", \"drop_oldest\", default block"));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minimal_gets_defaults),
		cmocka_unit_test(test_full_configuration),
		cmocka_unit_test(test_unknown_keys_name_their_path),
		cmocka_unit_test(test_types_and_ranges),
		cmocka_unit_test(test_required_and_counts),
		cmocka_unit_test(test_every_error_is_reported),
		cmocka_unit_test(test_duplicates_and_conflicts),
		cmocka_unit_test(test_sink_uris_checked_by_their_sinks),
		cmocka_unit_test(test_redaction_rules_compiled),
		cmocka_unit_test(test_invalid_json_names_line_and_column),
		cmocka_unit_test(test_listen_addresses),
		cmocka_unit_test(test_reference_lists_every_key),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
