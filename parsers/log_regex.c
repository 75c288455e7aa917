/* regex: text logs through a PCRE2 pattern (JIT-compiled) with named captures, configured by a
 * JSON file (`mcptrail import --regex FILE`). The captures become a flat object and go through
 * the same canonical fields and transforms as the JSON mapper (parsers/log_fields.h), with
 * "capture" naming where a value is:
 *
 *   {"name": "nginx-mcp",
 *    "pattern": "^(?<ip>\\S+) \\S+ (?<user>\\S+) \\[(?<ts>[^\\]]+)\\] \"POST (?<path>\\S+)[^\"]*\"
 * (?<status>\\d+)", "kind": "call", "time": {"capture": "ts", "format": "clf"},      (or
 * "time_format" with a capture "time") "fields": {"subject": "user", "src_addr": "ip", "tool":
 * {"capture": "path", "transform": "last_segment"}, "outcome": {"capture": "status", "transform":
 * "http_outcome"}, "http_status": "status"}}
 *
 * A line the pattern does not match is a bad line (counted, with its reason). Captures that did
 * not take part in the match are absent. */
#include "parsers/log_mapper.h"

#include "collector/util.h"
#include "parsers/log_common.h"
#include "parsers/log_fields.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct regex_parser {
	struct log_fields *fields;
	pcre2_code *re;
	pcre2_match_data *md;
	uint32_t name_count, name_entry_size;
	PCRE2_SPTR name_table;
};

static void regex_free(void *state)
{
	struct regex_parser *r = state;
	if (!r)
		return;
	log_fields_free(r->fields);
	pcre2_match_data_free(r->md);
	pcre2_code_free(r->re);
	free(r);
}

struct path_check {
	struct regex_parser *r;
	const char *missing;
};

static bool capture_exists(void *ctx, const char *name)
{
	struct path_check *c = ctx;
	if (pcre2_substring_number_from_name(c->r->re, (PCRE2_SPTR)name) >= 0)
		return true;
	c->missing = name;
	return false;
}

static void *regex_new(const json_t *config, const char *file, char *err, size_t errlen)
{
	struct regex_parser *r = calloc(1, sizeof(*r));
	json_t *cfg = (json_t *)config, *copy = NULL;
	if (!r) {
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
		if (strcmp(key, "name") && strcmp(key, "pattern") && strcmp(key, "kind") &&
		    strcmp(key, "time") && strcmp(key, "time_format") && strcmp(key, "fields") &&
		    strcmp(key, "description")) {
			snprintf(err, errlen,
				 "%s: %s: unknown key (expected name, description, pattern, kind, "
				 "time, time_format, fields)",
				 file, key);
			goto bad;
		}
	}
	const char *pattern = json_string_value(json_object_get(cfg, "pattern"));
	if (!pattern || !*pattern) {
		snprintf(err, errlen, "%s: pattern: expected a PCRE2 pattern with named captures",
			 file);
		goto bad;
	}
	int code;
	PCRE2_SIZE off;
	r->re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
			      PCRE2_UTF | PCRE2_NEVER_BACKSLASH_C, &code, &off, NULL);
	if (!r->re) {
		PCRE2_UCHAR msg[160];
		pcre2_get_error_message(code, msg, sizeof(msg));
		snprintf(err, errlen, "%s: pattern: error at offset %zu: %s", file, (size_t)off,
			 (const char *)msg);
		goto bad;
	}
	(void)pcre2_jit_compile(r->re, PCRE2_JIT_COMPLETE);
	r->md = pcre2_match_data_create_from_pattern(r->re, NULL);
	pcre2_pattern_info(r->re, PCRE2_INFO_NAMECOUNT, &r->name_count);
	pcre2_pattern_info(r->re, PCRE2_INFO_NAMEENTRYSIZE, &r->name_entry_size);
	pcre2_pattern_info(r->re, PCRE2_INFO_NAMETABLE, &r->name_table);
	if (!r->md || r->name_count == 0) {
		snprintf(err, errlen, "%s: pattern: expected named captures (?<name>...)", file);
		goto bad;
	}
	json_t *name = json_object_get(cfg, "name");
	if (name && (!json_is_string(name) || !*json_string_value(name))) {
		snprintf(err, errlen, "%s: name: expected a string", file);
		goto bad;
	}
	/* "time_format" with the capture "time" is a shorthand for "time" */
	json_t *tf = json_object_get(cfg, "time_format");
	if (tf && !json_object_get(cfg, "time")) {
		copy = json_copy(cfg);
		json_object_set_new(copy, "time",
				    json_pack("{s:s, s:O}", "capture", "time", "format", tf));
		cfg = copy;
	} else if (tf) {
		snprintf(err, errlen, "%s: time_format: give either \"time\" or \"time_format\"",
			 file);
		goto bad;
	}
	r->fields = log_fields_compile(cfg, name ? json_string_value(name) : "regex", file,
				       "capture", err, errlen);
	if (!r->fields)
		goto bad;
	struct path_check pc = {r, NULL};
	if (!log_fields_each_path(r->fields, capture_exists, &pc)) {
		snprintf(err, errlen, "%s: no capture named \"%s\" in the pattern", file,
			 pc.missing);
		goto bad;
	}
	json_decref(copy);
	return r;
bad:
	json_decref(copy);
	regex_free(r);
	return NULL;
}

static enum log_parse_result regex_parse(void *state, const struct log_line *line, log_emit_fn emit,
					 void *ctx, const char **reason)
{
	struct regex_parser *r = state;
	if (!r) {
		*reason = "regex: no configuration";
		return LOG_PARSE_BAD;
	}
	size_t len = line->len;
	while (len > 0 && (line->data[len - 1] == '\r' || line->data[len - 1] == '\n'))
		len--;
	if (!utf8_valid(line->data, len)) {
		*reason = "invalid UTF-8";
		return LOG_PARSE_BAD;
	}
	int rc = pcre2_match(r->re, (PCRE2_SPTR)line->data, len, 0, 0, r->md, NULL);
	if (rc < 0) {
		*reason = rc == PCRE2_ERROR_NOMATCH ? "regex: the line does not match the pattern"
						    : "regex: matching failed (match limit)";
		return LOG_PARSE_BAD;
	}
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(r->md);
	uint32_t pairs = pcre2_get_ovector_count(r->md);
	json_t *o = json_object();
	PCRE2_SPTR e = r->name_table;
	for (uint32_t i = 0; i < r->name_count; i++, e += r->name_entry_size) {
		uint32_t n = (uint32_t)((e[0] << 8) | e[1]);
		if (n >= pairs || ov[2 * n] == PCRE2_UNSET || ov[2 * n + 1] < ov[2 * n])
			continue;
		const char *name = (const char *)(e + 2);
		if (json_object_get(o, name))
			continue; /* duplicate names (?J): the first that matched */
		json_t *v = json_stringn(line->data + ov[2 * n], ov[2 * n + 1] - ov[2 * n]);
		if (v)
			json_object_set_new(o, name, v);
	}
	enum log_parse_result res = log_fields_emit(r->fields, o, line, emit, ctx, reason);
	json_decref(o);
	return res;
}

const struct log_parser log_parser_regex = {
	.name = "regex",
	.description = "text log through a PCRE2 pattern with named captures (--regex FILE)",
	.state_new = regex_new,
	.state_free = regex_free,
	.parse = regex_parse,
};
