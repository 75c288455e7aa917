// json_scan: simdjson On-Demand behind a C API (see json_scan.h).
//
// The walk visits every value of the frame exactly once: fields the correlator needs are
// extracted on the way, everything else is validated and dropped. No DOM is built and the
// parser's buffers are reused from frame to frame.
#include "json_scan.h"
#include "parsers/tap_record.h"

#include <simdjson.h>

#include <cstring>
#include <new>
#include <string>
#include <string_view>

using namespace simdjson;

static_assert(JSON_SCAN_PADDING >= SIMDJSON_PADDING, "padding must cover simdjson's");

struct json_scanner {
	ondemand::parser parser;
	std::string copy; // padded copy of a frame the caller could not pad
};

namespace
{

const char *reason_for(error_code err)
{
	switch (err) {
	case UTF8_ERROR:
		return "invalid UTF-8";
	case DEPTH_ERROR:
		return "nesting too deep";
	case NUMBER_ERROR:
		return "invalid number";
	case STRING_ERROR:
	case UNESCAPED_CHARS:
	case UNCLOSED_STRING:
		return "invalid string";
	case EMPTY:
		return "empty frame";
	case CAPACITY:
	case MEMALLOC:
		return "frame too large";
	case INCOMPLETE_ARRAY_OR_OBJECT:
		return "truncated JSON";
	case TRAILING_CONTENT:
		return "trailing content after JSON value";
	default:
		return "malformed JSON";
	}
}

inline json_span span_of(std::string_view s)
{
	return json_span{s.data(), s.size()};
}

// Trims JSON whitespace from the end of a raw token.
inline json_span trim_token(std::string_view s)
{
	size_t n = s.size();
	while (n > 0 &&
	       (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
		n--;
	return json_span{s.data(), n};
}

// End of the (already validated) JSON value starting at p: bracket matching that skips strings.
const char *value_end(const char *p, const char *limit)
{
	if (*p != '{' && *p != '[') {
		if (*p == '"') {
			for (p++; p < limit; p++) {
				if (*p == '\\')
					p++;
				else if (*p == '"')
					return p + 1;
			}
			return limit;
		}
		while (p < limit && !strchr(",}] \t\r\n", *p))
			p++;
		return p;
	}
	long depth = 0;
	for (; p < limit; p++) {
		char c = *p;
		if (c == '"') {
			for (p++; p < limit && *p != '"'; p++)
				if (*p == '\\')
					p++;
		} else if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			if (--depth == 0)
				return p + 1;
		}
	}
	return limit;
}

error_code walk(ondemand::value v);

// RFC 8259 number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
bool json_number_syntax(std::string_view t)
{
	size_t i = 0, n = t.size();
	if (i < n && t[i] == '-')
		i++;
	if (i >= n)
		return false;
	if (t[i] == '0') {
		i++;
	} else if (t[i] >= '1' && t[i] <= '9') {
		while (i < n && t[i] >= '0' && t[i] <= '9')
			i++;
	} else {
		return false;
	}
	if (i < n && t[i] == '.') {
		size_t d = ++i;
		while (i < n && t[i] >= '0' && t[i] <= '9')
			i++;
		if (i == d)
			return false;
	}
	if (i < n && (t[i] == 'e' || t[i] == 'E')) {
		i++;
		if (i < n && (t[i] == '+' || t[i] == '-'))
			i++;
		size_t d = i;
		while (i < n && t[i] >= '0' && t[i] <= '9')
			i++;
		if (i == d)
			return false;
	}
	return i == n;
}

error_code check_number(ondemand::value v)
{
	ondemand::number num;
	error_code err = v.get_number().get(num);
	if (err == NUMBER_ERROR || err == NUMBER_OUT_OF_RANGE) {
		json_span tok = trim_token(v.raw_json_token());
		if (json_number_syntax(std::string_view(tok.ptr, tok.len)))
			return SUCCESS;
	}
	return err;
}

error_code walk_object(ondemand::object o)
{
	for (auto field_result : o) {
		ondemand::field field;
		error_code err = std::move(field_result).get(field);
		if (err)
			return err;
		std::string_view key;
		if ((err = field.unescaped_key().get(key)))
			return err;
		if ((err = walk(field.value())))
			return err;
	}
	return SUCCESS;
}

error_code walk(ondemand::value v)
{
	ondemand::json_type type;
	error_code err = v.type().get(type);
	if (err)
		return err;
	// simdjson 3.0's On-Demand does not enforce max_depth while iterating; the walk does, so
	// hostile nesting can neither exhaust the stack nor pass as valid.
	if ((type == ondemand::json_type::object || type == ondemand::json_type::array) &&
	    v.current_depth() > JSON_SCAN_MAX_DEPTH)
		return DEPTH_ERROR;
	switch (type) {
	case ondemand::json_type::object: {
		ondemand::object o;
		if ((err = v.get_object().get(o)))
			return err;
		return walk_object(o);
	}
	case ondemand::json_type::array: {
		ondemand::array a;
		if ((err = v.get_array().get(a)))
			return err;
		for (auto element : a) {
			ondemand::value ev;
			if ((err = std::move(element).get(ev)))
				return err;
			if ((err = walk(ev)))
				return err;
		}
		return SUCCESS;
	}
	case ondemand::json_type::string: {
		std::string_view s;
		return v.get_string().get(s);
	}
	case ondemand::json_type::number:
		return check_number(v);
	case ondemand::json_type::boolean: {
		bool b;
		return v.get_bool().get(b);
	}
	case ondemand::json_type::null: {
		bool is_null;
		if ((err = v.is_null().get(is_null)))
			return err;
		return is_null ? SUCCESS : TAPE_ERROR;
	}
	}
	return TAPE_ERROR;
}

error_code read_string(ondemand::value v, json_span *out)
{
	std::string_view s;
	error_code err = v.get_string().get(s);
	if (err == INCORRECT_TYPE)
		return walk(v); // keep validating; the field simply is not the string we expected
	if (!err)
		*out = span_of(s);
	return err;
}

// An id-like value: integers keep their exact text, strings their unescaped contents.
error_code read_id(ondemand::value v, json_id *out)
{
	ondemand::json_type type;
	error_code err = v.type().get(type);
	if (err)
		return err;
	switch (type) {
	case ondemand::json_type::number: {
		out->kind = JSON_ID_NUMBER;
		out->text = trim_token(v.raw_json_token());
		return check_number(v);
	}
	case ondemand::json_type::string:
		out->kind = JSON_ID_STRING;
		return read_string(v, &out->text);
	case ondemand::json_type::null:
		out->kind = JSON_ID_NULL;
		return walk(v);
	default:
		out->kind = JSON_ID_OTHER;
		return walk(v);
	}
}

error_code read_related_task(ondemand::value v, json_scan *out)
{
	ondemand::object o;
	error_code err = v.get_object().get(o);
	if (err == INCORRECT_TYPE)
		return walk(v);
	if (err)
		return err;
	for (auto field_result : o) {
		ondemand::field field;
		if ((err = std::move(field_result).get(field)))
			return err;
		std::string_view key;
		if ((err = field.unescaped_key().get(key)))
			return err;
		if (key == "taskId")
			err = read_string(field.value(), &out->related_task_id);
		else
			err = walk(field.value());
		if (err)
			return err;
	}
	return SUCCESS;
}

error_code read_meta(ondemand::value v, json_scan *out)
{
	ondemand::object o;
	error_code err = v.get_object().get(o);
	if (err == INCORRECT_TYPE)
		return walk(v);
	if (err)
		return err;
	for (auto field_result : o) {
		ondemand::field field;
		if ((err = std::move(field_result).get(field)))
			return err;
		std::string_view key;
		if ((err = field.unescaped_key().get(key)))
			return err;
		if (key == "progressToken")
			err = read_id(field.value(), &out->meta_progress_token);
		else if (key == "io.modelcontextprotocol/related-task")
			err = read_related_task(field.value(), out);
		else if (key == "traceparent")
			err = read_string(field.value(), &out->traceparent);
		else if (key == "io.modelcontextprotocol/clientInfo") {
			out->meta_client_info = true;
			err = walk(field.value());
		} else
			err = walk(field.value());
		if (err)
			return err;
	}
	return SUCCESS;
}

error_code read_params(ondemand::value v, json_scan *out, const char *limit)
{
	out->params.ptr = v.raw_json_token().data();
	ondemand::object o;
	error_code err = v.get_object().get(o);
	if (err == INCORRECT_TYPE)
		return walk(v); // params that are not an object: validated, nothing extracted
	if (err)
		return err;
	for (auto field_result : o) {
		ondemand::field field;
		if ((err = std::move(field_result).get(field)))
			return err;
		std::string_view key;
		if ((err = field.unescaped_key().get(key)))
			return err;
		ondemand::value fv = field.value();
		if (key == "name") {
			err = read_string(fv, &out->params_name);
		} else if (key == "arguments") {
			const char *start = fv.raw_json_token().data();
			if (!(err = walk(fv))) {
				const char *end = value_end(start, limit);
				out->arguments = json_span{start, (size_t)(end - start)};
			}
		} else if (key == "task") {
			out->params_has_task = true;
			const char *start = fv.raw_json_token().data();
			if (!(err = walk(fv)))
				out->params_task =
					json_span{start, (size_t)(value_end(start, limit) - start)};
		} else if (key == "taskId") {
			err = read_string(fv, &out->params_task_id);
		} else if (key == "status") {
			err = read_string(fv, &out->params_status);
		} else if (key == "uri") {
			err = read_string(fv, &out->params_uri);
		} else if (key == "requestId") {
			err = read_id(fv, &out->params_request_id);
		} else if (key == "progressToken") {
			err = read_id(fv, &out->params_progress_token);
		} else if (key == "mode") {
			err = read_string(fv, &out->params_mode);
		} else if (key == "elicitationId") {
			err = read_string(fv, &out->params_elicitation_id);
		} else if (key == "_meta") {
			err = read_meta(fv, out);
		} else {
			err = walk(fv);
		}
		if (err)
			return err;
	}
	return SUCCESS;
}

error_code read_ttl(ondemand::value v, int64_t *out)
{
	ondemand::json_type t;
	error_code err = v.type().get(t);
	if (err)
		return err;
	if (t == ondemand::json_type::null) {
		*out = -2;
		return walk(v);
	}
	int64_t ms;
	err = v.get_int64().get(ms);
	if (err == INCORRECT_TYPE || err == NUMBER_ERROR || err == NUMBER_OUT_OF_RANGE)
		return walk(v);
	if (!err && ms >= 0)
		*out = ms;
	return err;
}

error_code read_result_task(ondemand::value v, json_scan *out)
{
	ondemand::object o;
	error_code err = v.get_object().get(o);
	if (err == INCORRECT_TYPE)
		return walk(v);
	if (err)
		return err;
	for (auto field_result : o) {
		ondemand::field field;
		if ((err = std::move(field_result).get(field)))
			return err;
		std::string_view key;
		if ((err = field.unescaped_key().get(key)))
			return err;
		if (key == "taskId")
			err = read_string(field.value(), &out->result_task_id);
		else if (key == "status")
			err = read_string(field.value(), &out->result_task_status);
		else if (key == "ttl")
			err = read_ttl(field.value(), &out->result_task_ttl);
		else
			err = walk(field.value());
		if (err)
			return err;
	}
	return SUCCESS;
}

error_code read_result(ondemand::value v, json_scan *out)
{
	out->result.ptr = v.raw_json_token().data();
	ondemand::object o;
	error_code err = v.get_object().get(o);
	if (err == INCORRECT_TYPE)
		return walk(v);
	if (err)
		return err;
	for (auto field_result : o) {
		ondemand::field field;
		if ((err = std::move(field_result).get(field)))
			return err;
		std::string_view key;
		if ((err = field.unescaped_key().get(key)))
			return err;
		ondemand::value fv = field.value();
		if (key == "task") {
			err = read_result_task(fv, out);
		} else if (key == "isError") {
			bool b;
			err = fv.get_bool().get(b);
			if (err == INCORRECT_TYPE)
				err = walk(fv);
			else if (!err)
				out->result_is_error = b ? 1 : 0;
		} else if (key == "status") {
			err = read_string(fv, &out->result_status);
		} else if (key == "taskId") {
			err = read_string(fv, &out->result_task_id_top);
		} else if (key == "action") {
			err = read_string(fv, &out->result_action);
		} else if (key == "resultType") {
			err = read_string(fv, &out->result_type);
		} else if (key == "tasks") {
			ondemand::array a;
			err = fv.get_array().get(a);
			if (err == INCORRECT_TYPE) {
				err = walk(fv);
			} else if (!err) {
				long n = 0;
				for (auto element : a) {
					ondemand::value ev;
					if ((err = std::move(element).get(ev)) || (err = walk(ev)))
						break;
					n++;
				}
				out->result_tasks_count = n;
			}
		} else if (key == "_meta") {
			err = read_meta(fv, out);
		} else {
			err = walk(fv);
		}
		if (err)
			return err;
	}
	return SUCCESS;
}

error_code read_error(ondemand::value v, json_scan *out)
{
	ondemand::object o;
	error_code err = v.get_object().get(o);
	if (err == INCORRECT_TYPE)
		return walk(v);
	if (err)
		return err;
	for (auto field_result : o) {
		ondemand::field field;
		if ((err = std::move(field_result).get(field)))
			return err;
		std::string_view key;
		if ((err = field.unescaped_key().get(key)))
			return err;
		ondemand::value fv = field.value();
		if (key == "code") {
			int64_t code;
			err = fv.get_int64().get(code);
			if (err == INCORRECT_TYPE || err == NUMBER_ERROR)
				err = walk(fv);
			else if (!err) {
				out->has_error_code = true;
				out->error_code = code;
			}
		} else if (key == "message") {
			err = read_string(fv, &out->error_message);
		} else {
			err = walk(fv);
		}
		if (err)
			return err;
	}
	return SUCCESS;
}

void reset(json_scan *out)
{
	memset(out, 0, sizeof(*out));
	out->result_is_error = -1;
	out->result_task_ttl = -1;
	out->result_tasks_count = -1;
}

enum json_msg_kind invalid(json_scan *out, const char *reason)
{
	out->kind = JSON_MSG_INVALID;
	out->invalid_reason = reason;
	return JSON_MSG_INVALID;
}

bool start(json_scanner *s, const char *&buf, size_t len, size_t capacity)
{
	// The previous call's spans are dead now: release an oversized copy so one huge frame
	// does not pin its memory forever.
	if (s->copy.capacity() > (1u << 20) && len + SIMDJSON_PADDING < (1u << 20))
		std::string().swap(s->copy);
	if (capacity < len + SIMDJSON_PADDING) {
		try {
			s->copy.assign(buf, len);
			s->copy.append(SIMDJSON_PADDING, '\0');
		} catch (const std::bad_alloc &) {
			return false;
		}
		buf = s->copy.data();
	}
	return true;
}

// True when nothing but whitespace follows the root value (simdjson 3.0 has no at_end()):
// current_location() fails once the iterator has consumed the whole document.
bool at_end(ondemand::document &doc)
{
	const char *loc;
	return doc.current_location().get(loc) != SUCCESS;
}

} // namespace

extern "C" json_scanner *json_scanner_new(void)
{
	json_scanner *s = new (std::nothrow) json_scanner();
	if (!s)
		return nullptr;
	if (s->parser.allocate(1 << 16, JSON_SCAN_MAX_DEPTH) != SUCCESS) {
		delete s;
		return nullptr;
	}
	return s;
}

extern "C" void json_scanner_free(json_scanner *s)
{
	delete s;
}

extern "C" enum json_msg_kind json_scanner_scan(json_scanner *s, const char *buf, size_t len,
						size_t capacity, struct json_scan *out)
{
	reset(out);
	if (len == 0)
		return invalid(out, "empty frame");
	if (memchr(buf, '\0', len))
		return invalid(out, "NUL byte in frame");
	if (!start(s, buf, len, capacity))
		return invalid(out, "frame too large");
	const char *limit = buf + len;

	ondemand::document doc;
	error_code err = s->parser.iterate(buf, len, len + SIMDJSON_PADDING).get(doc);
	if (err) {
		return invalid(out, reason_for(err));
	}
	ondemand::json_type type;
	if ((err = doc.type().get(type))) {
		return invalid(out, reason_for(err));
	}
	if (type == ondemand::json_type::array) {
		/* validate first: a deeply nested or broken array is that, not a batch */
		ondemand::array a;
		if (!(err = doc.get_array().get(a))) {
			for (auto element : a) {
				ondemand::value v;
				if ((err = std::move(element).get(v)) || (err = walk(v)))
					break;
			}
		}
		if (!err && !at_end(doc))
			err = TRAILING_CONTENT;
		return invalid(
			out,
			err ? reason_for(err)
			    : "JSON-RPC batch (array); batching does not exist since 2025-06-18");
	}
	if (type != ondemand::json_type::object) {
		return invalid(out, "not a JSON object");
	}
	ondemand::object o;
	if ((err = doc.get_object().get(o))) {
		return invalid(out, reason_for(err));
	}

	bool has_jsonrpc = false, has_result = false, has_error = false;
	json_span version = {nullptr, 0};
	for (auto field_result : o) {
		ondemand::field field;
		if ((err = std::move(field_result).get(field)))
			break;
		std::string_view key;
		if ((err = field.unescaped_key().get(key)))
			break;
		ondemand::value fv = field.value();
		if (key == "jsonrpc") {
			has_jsonrpc = true;
			err = read_string(fv, &version);
		} else if (key == "id") {
			err = read_id(fv, &out->id);
		} else if (key == "method") {
			err = read_string(fv, &out->method);
		} else if (key == "params") {
			err = read_params(fv, out, limit);
		} else if (key == "result") {
			has_result = true;
			err = read_result(fv, out);
		} else if (key == "error") {
			has_error = true;
			err = read_error(fv, out);
		} else {
			err = walk(fv);
		}
		if (err)
			break;
	}
	if (!err && !at_end(doc))
		err = TRAILING_CONTENT;
	if (err)
		return invalid(out, reason_for(err));
	if (out->params.ptr)
		out->params.len = (size_t)(value_end(out->params.ptr, limit) - out->params.ptr);
	if (out->result.ptr)
		out->result.len = (size_t)(value_end(out->result.ptr, limit) - out->result.ptr);

	if (!has_jsonrpc || version.len != 3 || memcmp(version.ptr, "2.0", 3) != 0)
		return invalid(out, "jsonrpc member is not \"2.0\"");
	bool has_id = out->id.kind != JSON_ID_NONE;
	if (out->id.kind == JSON_ID_OTHER)
		return invalid(out, "id is neither a string nor a number");
	if (out->method.ptr) {
		if (has_result || has_error)
			return invalid(out, "message has both method and result/error");
		if (out->id.kind == JSON_ID_NULL)
			return invalid(out, "request id is null");
		out->kind = has_id ? JSON_MSG_REQUEST : JSON_MSG_NOTIFICATION;
		return out->kind;
	}
	if (has_result && has_error)
		return invalid(out, "message has both result and error");
	if (has_result) {
		if (!has_id || out->id.kind == JSON_ID_NULL)
			return invalid(out, "result without id");
		out->kind = JSON_MSG_RESULT;
		return out->kind;
	}
	if (has_error) {
		if (!out->has_error_code)
			return invalid(out, "error without integer code");
		out->kind = JSON_MSG_ERROR;
		return out->kind;
	}
	return invalid(out, "neither request, notification, result nor error");
}

extern "C" const char *json_scanner_validate(json_scanner *s, const char *buf, size_t len,
					     size_t capacity)
{
	if (len == 0)
		return "empty frame";
	if (memchr(buf, '\0', len))
		return "NUL byte in frame";
	if (!start(s, buf, len, capacity))
		return "frame too large";
	ondemand::document doc;
	error_code err = s->parser.iterate(buf, len, len + SIMDJSON_PADDING).get(doc);
	if (!err) {
		ondemand::json_type type;
		err = doc.type().get(type);
		if (!err &&
		    (type == ondemand::json_type::object || type == ondemand::json_type::array)) {
			ondemand::value v;
			// A document is not a value in On-Demand; walk its root container directly.
			if (type == ondemand::json_type::object) {
				ondemand::object o;
				if (!(err = doc.get_object().get(o)))
					err = walk_object(o);
			} else {
				ondemand::array a;
				if (!(err = doc.get_array().get(a))) {
					for (auto element : a) {
						if ((err = std::move(element).get(v)) ||
						    (err = walk(v)))
							break;
					}
				}
			}
			(void)v;
		} else if (!err) {
			return "not a JSON object";
		}
		if (!err && !at_end(doc))
			err = TRAILING_CONTENT;
	}
	return err ? reason_for(err) : nullptr;
}

// ---- tap records (parsers/tap_record.h): the envelope is scanned here, in the one C++ file ----

namespace
{

error_code read_u64(ondemand::value v, uint64_t *out)
{
	return v.get_uint64().get(*out);
}

error_code read_i64(ondemand::value v, int64_t *out)
{
	return v.get_int64().get(*out);
}

error_code read_flag(ondemand::value v, bool *out)
{
	return v.get_bool().get(*out);
}

} // namespace

extern "C" enum tap_record_kind tap_record_parse(json_scanner *s, const char *line, size_t len,
						 size_t capacity, struct tap_record *out)
{
	memset(out, 0, sizeof(*out));
	out->dir = -1;
	if (len == 0) {
		out->invalid_reason = "empty line";
		return TAP_RECORD_INVALID;
	}
	if (memchr(line, '\0', len)) {
		out->invalid_reason = "NUL byte in record";
		return TAP_RECORD_INVALID;
	}
	if (!start(s, line, len, capacity)) {
		out->invalid_reason = "record too large";
		return TAP_RECORD_INVALID;
	}
	const char *limit = line + len;
	ondemand::document doc;
	ondemand::object o;
	error_code err = s->parser.iterate(line, len, len + SIMDJSON_PADDING).get(doc);
	if (!err)
		err = doc.get_object().get(o);
	bool version_ok = false;
	std::string_view kind;
	if (!err) {
		for (auto field_result : o) {
			ondemand::field field;
			if ((err = std::move(field_result).get(field)))
				break;
			std::string_view key;
			if ((err = field.unescaped_key().get(key)))
				break;
			ondemand::value fv = field.value();
			if (key == "mcptrail_tap") {
				uint64_t v = 0;
				err = read_u64(fv, &v);
				version_ok = v == 1;
			} else if (key == "kind") {
				err = fv.get_string().get(kind);
				if (!err)
					kind = std::string_view(kind.data(), kind.size());
			} else if (key == "stream") {
				err = read_string(fv, &out->stream);
			} else if (key == "seq") {
				err = read_u64(fv, &out->seq);
			} else if (key == "ts") {
				err = read_i64(fv, &out->ts_ns);
			} else if (key == "dir") {
				std::string_view d;
				if (!(err = fv.get_string().get(d)))
					out->dir = d == "c2s" ? 0 : d == "s2c" ? 1 : -2;
			} else if (key == "len") {
				err = read_u64(fv, &out->len);
			} else if (key == "crlf") {
				err = read_flag(fv, &out->crlf);
			} else if (key == "truncated") {
				err = read_flag(fv, &out->truncated);
			} else if (key == "partial") {
				err = read_flag(fv, &out->partial);
			} else if (key == "msg") {
				// The frame was validated by the tap; it is re-scanned in place by
				// the message scanner, so only its span is taken here.
				const char *begin = fv.raw_json_token().data();
				ondemand::json_type t;
				if (!(err = fv.type().get(t))) {
					if (t == ondemand::json_type::object) {
						ondemand::object mo;
						std::string_view raw;
						if (!(err = fv.get_object().get(mo)) &&
						    !(err = mo.raw_json().get(raw)))
							out->msg = trim_token(std::string_view(
								begin, raw.size()));
					} else if (t == ondemand::json_type::array) {
						ondemand::array ma;
						std::string_view raw;
						if (!(err = fv.get_array().get(ma)) &&
						    !(err = ma.raw_json().get(raw)))
							out->msg = trim_token(std::string_view(
								begin, raw.size()));
					} else {
						if (!(err = walk(fv)))
							out->msg = json_span{
								begin,
								(size_t)(value_end(begin, limit) -
									 begin)};
					}
				}
			} else if (key == "b64") {
				std::string_view raw;
				if (!(err = fv.get_string().get(raw)))
					out->b64 = span_of(raw);
			} else if (key == "frames") {
				// a count in gap records, an object of counts in end records
				ondemand::json_type t;
				if (!(err = fv.type().get(t)))
					err = t == ondemand::json_type::number
						      ? read_u64(fv, &out->gap_frames)
						      : walk(fv);
			} else if (key == "bytes") {
				err = read_u64(fv, &out->gap_bytes);
			} else if (key == "exchange") {
				err = read_u64(fv, &out->exchange);
			} else if (key == "status") {
				err = read_i64(fv, &out->status);
			} else if (key == "event_id") {
				ondemand::json_type t;
				if (!(err = fv.type().get(t))) {
					out->has_event_id = t == ondemand::json_type::string;
					err = out->has_event_id ? read_string(fv, &out->event_id)
								: walk(fv);
				}
			} else if (key == "method") {
				err = read_string(fv, &out->method);
			} else if (key == "uri") {
				err = read_string(fv, &out->uri);
			} else if (key == "outcome") {
				err = read_string(fv, &out->outcome);
			} else if (key == "exit_status") {
				out->has_exit_status = true;
				err = read_i64(fv, &out->exit_status);
			} else if (key == "signal") {
				err = read_i64(fv, &out->term_signal);
			} else {
				err = walk(fv);
			}
			if (err)
				break;
		}
	}
	if (!err && !at_end(doc))
		err = TRAILING_CONTENT;
	if (err) {
		out->invalid_reason = reason_for(err);
		return TAP_RECORD_INVALID;
	}
	if (out->msg.ptr)
		out->msg_capacity = (size_t)(line + len + SIMDJSON_PADDING - out->msg.ptr);
	if (!version_ok) {
		out->invalid_reason = "not a tap record (mcptrail_tap != 1)";
		return TAP_RECORD_INVALID;
	}
	if (!out->stream.ptr || out->stream.len == 0) {
		out->invalid_reason = "tap record without stream";
		return TAP_RECORD_INVALID;
	}
	if (kind == "frame") {
		if (out->dir < 0) {
			out->invalid_reason = "frame record without a valid dir";
			return TAP_RECORD_INVALID;
		}
		if (!out->msg.ptr && !out->b64.ptr) {
			out->invalid_reason = "frame record without msg or b64";
			return TAP_RECORD_INVALID;
		}
		out->kind = TAP_RECORD_FRAME;
	} else if (kind == "gap") {
		out->kind = TAP_RECORD_GAP;
	} else if (kind == "start") {
		out->kind = TAP_RECORD_START;
	} else if (kind == "end") {
		out->kind = TAP_RECORD_END;
	} else if (kind == "http_request") {
		out->kind = TAP_RECORD_HTTP_REQUEST;
	} else if (kind == "http_response") {
		out->kind = TAP_RECORD_HTTP_RESPONSE;
	} else if (kind == "http_body") {
		out->kind = TAP_RECORD_HTTP_BODY;
	} else if (kind == "sse_event") {
		out->kind = TAP_RECORD_SSE_EVENT;
	} else if (kind == "http_end") {
		out->kind = TAP_RECORD_HTTP_END;
	} else {
		out->invalid_reason = "unknown tap record kind";
		return TAP_RECORD_INVALID;
	}
	return out->kind;
}

extern "C" bool tap_record_detect(const char *line, size_t len)
{
	// the key, then optional whitespace, a colon, optional whitespace and 1
	std::string_view v(line, len);
	size_t at = v.find("\"mcptrail_tap\"");
	if (at == std::string_view::npos)
		return false;
	size_t i = at + 14;
	while (i < v.size() && (v[i] == ' ' || v[i] == '\t'))
		i++;
	if (i >= v.size() || v[i] != ':')
		return false;
	for (i++; i < v.size() && (v[i] == ' ' || v[i] == '\t'); i++)
		;
	return i < v.size() && v[i] == '1';
}
