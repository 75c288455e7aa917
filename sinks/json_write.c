#include "sinks/json_write.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define MAX_DEPTH 2048

static bool write_string(struct strbuf *out, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	if (!strbuf_reserve(out, len + 2))
		return false;
	out->data[out->len++] = '"';
	size_t run = 0; /* bytes copied as they are, pending */
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *esc = NULL;
		char u[6];
		switch (c) {
		case '"':
			esc = "\\\"";
			break;
		case '\\':
			esc = "\\\\";
			break;
		case '\b':
			esc = "\\b";
			break;
		case '\f':
			esc = "\\f";
			break;
		case '\n':
			esc = "\\n";
			break;
		case '\r':
			esc = "\\r";
			break;
		case '\t':
			esc = "\\t";
			break;
		default:
			if (c < 0x20) {
				u[0] = '\\';
				u[1] = 'u';
				u[2] = '0';
				u[3] = '0';
				u[4] = hex[c >> 4];
				u[5] = hex[c & 15];
			}
			break;
		}
		if (!esc && c >= 0x20) {
			run++;
			continue;
		}
		if (run && !strbuf_append(out, s + i - run, run))
			return false;
		run = 0;
		if (!(esc ? strbuf_append(out, esc, 2) : strbuf_append(out, u, 6)))
			return false;
	}
	if (run && !strbuf_append(out, s + len - run, run))
		return false;
	return strbuf_append(out, "\"", 1);
}

/* jansson's jsonp_dtostr with precision 17: "%.17g", a ".0" when it would read as an integer, no
 * '+' and no leading zeros in the exponent. */
static bool write_real(struct strbuf *out, double v)
{
	if (!isfinite(v))
		return false;
	char buf[64];
	int n = snprintf(buf, sizeof(buf), "%.17g", v);
	if (n < 0 || (size_t)n >= sizeof(buf) - 3)
		return false;
	size_t len = (size_t)n;
	if (!strchr(buf, '.') && !strchr(buf, 'e')) {
		buf[len++] = '.';
		buf[len++] = '0';
		buf[len] = '\0';
	}
	char *start = strchr(buf, 'e');
	if (start) {
		start++;
		char *end = start + 1;
		if (*start == '-')
			start++;
		while (*end == '0')
			end++;
		if (end != start) {
			memmove(start, end, len - (size_t)(end - buf) + 1);
			len -= (size_t)(end - start);
		}
	}
	return strbuf_append(out, buf, len);
}

static bool write_value(const json_t *v, struct strbuf *out, int depth)
{
	if (depth > MAX_DEPTH)
		return false;
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		if (!strbuf_append(out, "{", 1))
			return false;
		bool first = true;
		for (void *it = json_object_iter((json_t *)v); it;
		     it = json_object_iter_next((json_t *)v, it)) {
			if (!first && !strbuf_append(out, ",", 1))
				return false;
			first = false;
			if (!write_string(out, json_object_iter_key(it),
					  json_object_iter_key_len(it)) ||
			    !strbuf_append(out, ":", 1) ||
			    !write_value(json_object_iter_value(it), out, depth + 1))
				return false;
		}
		return strbuf_append(out, "}", 1);
	}
	case JSON_ARRAY: {
		if (!strbuf_append(out, "[", 1))
			return false;
		size_t n = json_array_size(v);
		for (size_t i = 0; i < n; i++) {
			if (i && !strbuf_append(out, ",", 1))
				return false;
			if (!write_value(json_array_get(v, i), out, depth + 1))
				return false;
		}
		return strbuf_append(out, "]", 1);
	}
	case JSON_STRING:
		return write_string(out, json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		return strbuf_printf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	case JSON_REAL:
		return write_real(out, json_real_value(v));
	case JSON_TRUE:
		return strbuf_append(out, "true", 4);
	case JSON_FALSE:
		return strbuf_append(out, "false", 5);
	case JSON_NULL:
		return strbuf_append(out, "null", 4);
	}
	return false;
}

int json_write_compact(const json_t *value, struct strbuf *out)
{
	if (!value)
		return -1;
	return write_value(value, out, 0) ? 0 : -1;
}
