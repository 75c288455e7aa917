/* mapper: a generic JSON field mapper, configured by a JSON file (`mcptrail import --mapper
 * FILE`): one JSON object per line, its members mapped to the canonical fields of a call or a
 * grant (parsers/log_fields.h lists the names and transforms).
 *
 *   {"name": "pomerium",                     optional: the format name in events ("mapper")
 *    "detect": {"path": "msg", "equals": "authorize check"},   optional: lines that are events
 *              (or "exists": true, "prefix": "...", "matches": PCRE2); others are skipped, or
 *              refused when a built-in parser recognises them (a mixed file)
 *    "kind": "call",
 *    "time": {"path": "time", "format": "rfc3339"},
 *    "fields": {"subject": "user", "tool": "mcp-tool",
 *               "duration_ms": {"path": "duration", "transform": "duration"},
 *               "outcome": {"path": "response-code", "transform": "http_outcome"}}}
 *
 * Paths are dotted (log_get: a member literally named "a.b" first, else nested objects). */
#include "parsers/log_mapper.h"

#include "parsers/log_common.h"
#include "parsers/log_fields.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum detect_op { D_NONE, D_EXISTS, D_EQUALS, D_PREFIX, D_MATCHES };

struct mapper {
	struct log_fields *fields;
	char *detect_path;
	enum detect_op op;
	char *detect_value;
	pcre2_code *re;
	pcre2_match_data *md;
};

static void mapper_free(void *state)
{
	struct mapper *m = state;
	if (!m)
		return;
	log_fields_free(m->fields);
	free(m->detect_path);
	free(m->detect_value);
	pcre2_match_data_free(m->md);
	pcre2_code_free(m->re);
	free(m);
}

static bool compile_detect(struct mapper *m, json_t *d, const char *file, char *err, size_t errlen)
{
	const char *path = json_string_value(json_object_get(d, "path"));
	if (!json_is_object(d) || !path || !*path) {
		snprintf(err, errlen, "%s: detect.path: expected a string path", file);
		return false;
	}
	m->detect_path = strdup(path);
	static const char *const ops[] = {"exists", "equals", "prefix", "matches"};
	for (size_t i = 0; i < 4; i++) {
		json_t *v = json_object_get(d, ops[i]);
		if (!v)
			continue;
		if (m->op != D_NONE) {
			snprintf(err, errlen,
				 "%s: detect: expected one of exists, equals, prefix, matches",
				 file);
			return false;
		}
		m->op = (enum detect_op)(i + 1);
		if (m->op == D_EXISTS) {
			if (!json_is_true(v)) {
				snprintf(err, errlen, "%s: detect.exists: expected true", file);
				return false;
			}
			continue;
		}
		char buf[64];
		const char *s = json_string_value(v);
		if (!s && json_is_integer(v) && m->op == D_EQUALS) {
			snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
			s = buf;
		} else if (!s && json_is_boolean(v) && m->op == D_EQUALS) {
			s = json_is_true(v) ? "true" : "false";
		}
		if (!s) {
			snprintf(err, errlen, "%s: detect.%s: expected a string", file, ops[i]);
			return false;
		}
		m->detect_value = strdup(s);
		if (m->op == D_MATCHES) {
			int code;
			PCRE2_SIZE off;
			m->re = pcre2_compile((PCRE2_SPTR)s, PCRE2_ZERO_TERMINATED, PCRE2_UTF,
					      &code, &off, NULL);
			if (!m->re) {
				PCRE2_UCHAR msg[160];
				pcre2_get_error_message(code, msg, sizeof(msg));
				snprintf(err, errlen, "%s: detect.matches: at offset %zu: %s", file,
					 (size_t)off, (const char *)msg);
				return false;
			}
			(void)pcre2_jit_compile(m->re, PCRE2_JIT_COMPLETE);
			m->md = pcre2_match_data_create_from_pattern(m->re, NULL);
		}
	}
	if (m->op == D_NONE)
		m->op = D_EXISTS;
	return true;
}

static void *mapper_new(const json_t *config, const char *file, char *err, size_t errlen)
{
	struct mapper *m = calloc(1, sizeof(*m));
	json_t *cfg = (json_t *)config;
	if (!m) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (!json_is_object(cfg)) {
		snprintf(err, errlen, "%s: expected a JSON object", file);
		goto bad;
	}
	const char *key;
	json_t *v;
	json_object_foreach(cfg, key, v)
	{
		if (strcmp(key, "name") && strcmp(key, "detect") && strcmp(key, "kind") &&
		    strcmp(key, "time") && strcmp(key, "fields") && strcmp(key, "description")) {
			snprintf(err, errlen,
				 "%s: %s: unknown key (expected name, description, detect, kind, "
				 "time, fields)",
				 file, key);
			goto bad;
		}
	}
	json_t *name = json_object_get(cfg, "name");
	if (name && (!json_is_string(name) || !*json_string_value(name))) {
		snprintf(err, errlen, "%s: name: expected a string", file);
		goto bad;
	}
	json_t *detect = json_object_get(cfg, "detect");
	if (detect && !compile_detect(m, detect, file, err, errlen))
		goto bad;
	m->fields = log_fields_compile(cfg, name ? json_string_value(name) : "mapper", file, "path",
				       err, errlen);
	if (!m->fields)
		goto bad;
	return m;
bad:
	mapper_free(m);
	return NULL;
}

static bool detected(const struct mapper *m, json_t *o)
{
	if (!m->detect_path)
		return true;
	json_t *v = log_get(o, m->detect_path);
	if (!v)
		return false;
	char buf[64];
	const char *s = json_is_boolean(v) ? (json_is_true(v) ? "true" : "false")
					   : log_get_text(o, m->detect_path, buf, sizeof(buf));
	switch (m->op) {
	case D_EQUALS:
		return s && strcmp(s, m->detect_value) == 0;
	case D_PREFIX:
		return s && strncmp(s, m->detect_value, strlen(m->detect_value)) == 0;
	case D_MATCHES:
		return s && pcre2_match(m->re, (PCRE2_SPTR)s, strlen(s), 0, 0, m->md, NULL) >= 0;
	default:
		return true;
	}
}

static enum log_parse_result mapper_parse(void *state, const struct log_line *line,
					  log_emit_fn emit, void *ctx, const char **reason)
{
	const struct mapper *m = state;
	if (!m) {
		*reason = "mapper: no configuration";
		return LOG_PARSE_BAD;
	}
	json_t *o = log_json_object(line, reason);
	if (!o)
		return LOG_PARSE_BAD;
	enum log_parse_result rc = LOG_PARSE_SKIP;
	if (detected(m, o)) {
		rc = log_fields_emit(m->fields, o, line, emit, ctx, reason);
	} else if (log_parser_detect(line->data, line->len)) {
		/* another format's line in a mixed file: bad here, so the importer hands it to the
		 * parser that knows it */
		*reason = "mapper: not this format's line (detect) but another format's";
		rc = LOG_PARSE_BAD;
	}
	json_decref(o);
	return rc;
}

const struct log_parser log_parser_mapper = {
	.name = "mapper",
	.description = "generic JSON field mapper (--mapper FILE)",
	.state_new = mapper_new,
	.state_free = mapper_free,
	.parse = mapper_parse,
};
