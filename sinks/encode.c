#include "sinks/encode.h"
#include "sinks/encode_internal.h"
#include "sinks/json_write.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const names[] = {"json", "ocsf", "ecs", "cef", "leef"};

int encoding_from_name(const char *name)
{
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i]) == 0)
			return (int)i;
	return -1;
}

const char *encoding_name(enum event_encoding e)
{
	return (unsigned)e < sizeof(names) / sizeof(names[0]) ? names[e] : "unknown";
}

static int encode_json(const json_t *event, struct strbuf *out)
{
	return json_write_compact(event, out);
}

int encode_event(enum event_encoding e, const json_t *event, struct strbuf *out)
{
	size_t mark = out->len;
	int rc = -1;
	struct event_view view;
	switch (e) {
	case ENCODING_JSON:
		rc = encode_json(event, out);
		break;
	case ENCODING_OCSF:
	case ENCODING_ECS:
	case ENCODING_CEF:
	case ENCODING_LEEF:
		if (!json_is_object(event) || event_view_init(&view, event) != 0)
			break;
		if (e == ENCODING_OCSF)
			rc = encode_ocsf(&view, out);
		else if (e == ENCODING_ECS)
			rc = encode_ecs(&view, out);
		else if (e == ENCODING_CEF)
			rc = encode_cef(&view, out);
		else
			rc = encode_leef(&view, out);
		break;
	default:
		rc = -1;
		break;
	}
	if (rc != 0) {
		out->len = mark;
		if (out->data)
			out->data[mark] = '\0';
	}
	return rc;
}

/* ---- strings and times ---- */

struct vstr vstr_c(const char *s)
{
	return (struct vstr){s, s ? strlen(s) : 0};
}

bool vstr_eq(struct vstr v, const char *literal)
{
	size_t n = strlen(literal);
	return v.s && v.len == n && memcmp(v.s, literal, n) == 0;
}

static bool vstr_starts(struct vstr v, const char *prefix)
{
	size_t n = strlen(prefix);
	return v.s && v.len >= n && memcmp(v.s, prefix, n) == 0;
}

static struct vstr str_at(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);
	if (!json_is_string(v))
		return (struct vstr){NULL, 0};
	return (struct vstr){json_string_value(v), json_string_length(v)};
}

static const json_t *array_at(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);
	return json_is_array(v) ? v : NULL;
}

static bool int_at(const json_t *obj, const char *key, json_int_t *out)
{
	const json_t *v = json_object_get(obj, key);
	if (!json_is_integer(v))
		return false;
	*out = json_integer_value(v);
	return true;
}

static struct vstr first_of(struct vstr a, struct vstr b)
{
	return a.s ? a : b;
}

/* Days since 1970-01-01 of a proleptic Gregorian date, and back (H. Hinnant's algorithms). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static bool digits(const char *s, size_t n, int *out)
{
	int v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

bool parse_rfc3339_ms(const char *s, size_t len, int64_t *ms)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, mo, d, h, mi, sec;
	if (!s || len < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
	    s[13] != ':' || s[16] != ':' || !digits(s, 4, &y) || !digits(s + 5, 2, &mo) ||
	    !digits(s + 8, 2, &d) || !digits(s + 11, 2, &h) || !digits(s + 14, 2, &mi) ||
	    !digits(s + 17, 2, &sec))
		return false;
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] + (mo == 2 && leap) || h > 23 ||
	    mi > 59 || sec > 60)
		return false;
	size_t i = 19;
	int frac_ms = 0;
	if (s[i] == '.') {
		size_t start = ++i;
		while (i < len && s[i] >= '0' && s[i] <= '9') {
			if (i - start < 3)
				frac_ms = frac_ms * 10 + (s[i] - '0');
			i++;
		}
		if (i == start)
			return false;
		for (size_t k = i - start; k < 3; k++)
			frac_ms *= 10;
	}
	int offset_min = 0;
	if (i + 1 == len && (s[i] == 'Z' || s[i] == 'z')) {
		offset_min = 0;
	} else if (i + 6 == len && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
		int oh, om;
		if (!digits(s + i + 1, 2, &oh) || !digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
			return false;
		offset_min = (s[i] == '-' ? -1 : 1) * (oh * 60 + om);
	} else {
		return false;
	}
	int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
		       (int64_t)offset_min * 60;
	*ms = secs * 1000 + frac_ms;
	return true;
}

void format_ms_rfc3339(int64_t ms, char out[40])
{
	int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
	int msec = (int)(ms - secs * 1000);
	int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
	int64_t rem = secs - days * 86400;
	int64_t y;
	int m, d;
	civil_from_days(days, &y, &m, &d);
	snprintf(out, 40, "%04lld-%02d-%02dT%02d:%02d:%02d.%03dZ", (long long)y, m, d,
		 (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60), msec);
}

static bool lower_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

bool traceparent_trace_id(struct vstr tp, char out[33])
{
	/* version "-" trace-id(32) "-" parent-id(16) "-" flags(2) */
	if (!tp.s || tp.len < 55 || tp.s[2] != '-' || tp.s[35] != '-' || tp.s[52] != '-' ||
	    !lower_hex(tp.s, 2) || memcmp(tp.s, "ff", 2) == 0 || !lower_hex(tp.s + 3, 32) ||
	    (tp.len > 55 && tp.s[55] != '-') ||
	    strspn(tp.s + 3, "0") >= 32) /* all-zero trace ids are invalid */
		return false;
	memcpy(out, tp.s + 3, 32);
	out[32] = '\0';
	return true;
}

/* ---- the view: one reading of the event for every encoding ---- */

static const struct {
	const char *type;
	enum event_kind kind;
	const char *name;
} kinds[] = {
	{"mcp.tool_call", EVENT_TOOL_CALL, "MCP tool call"},
	{"mcp.task", EVENT_TASK, "MCP task status change"},
	{"mcp.request", EVENT_REQUEST, "MCP request"},
	{"mcp.sampling", EVENT_SAMPLING, "MCP sampling request"},
	{"mcp.elicitation", EVENT_ELICITATION, "MCP elicitation request"},
	{"mcp.roots", EVENT_ROOTS, "MCP roots request"},
	{"mcp.session", EVENT_SESSION, "MCP session"},
	{"mcp.auth", EVENT_AUTH, "MCP authorization required"},
	{"mcp.http_error", EVENT_HTTP_ERROR, "MCP HTTP error"},
	{"mcp.invalid_message", EVENT_INVALID_MESSAGE, "Invalid MCP message"},
	{"capture.gap", EVENT_CAPTURE_GAP, "Capture gap"},
	{"finding", EVENT_FINDING, "mcptrail finding"},
	{"ingest.error", EVENT_INGEST_ERROR, "Ingest error"},
	{"ingest.summary", EVENT_INGEST_SUMMARY, "Ingest summary"},
	{"identity.grant", EVENT_GRANT, "OAuth token grant"},
};

/* How a call or request ended (call.outcome / request.outcome) → status and severity. */
static const struct {
	const char *outcome;
	enum view_status status;
	int severity;
} call_outcomes[] = {
	{"ok", STATUS_SUCCESS, 1},	  {"tool_error", STATUS_FAILURE, 2},
	{"rpc_error", STATUS_FAILURE, 2}, {"denied", STATUS_FAILURE, 3},
	{"cancelled", STATUS_OTHER, 1},	  {"no_response", STATUS_UNKNOWN, 2},
};

/* A fixed name for a value out of a closed set (session.state, task.status, ...), so that the
 * action never carries text from the wire. */
static struct vstr pick(struct vstr value, const char *const *table, const char *fallback)
{
	for (size_t i = 0; table[i]; i += 2)
		if (vstr_eq(value, table[i]))
			return vstr_c(table[i + 1]);
	return vstr_c(fallback);
}

static const char *const task_actions[] = {"working",
					   "task.working",
					   "input_required",
					   "task.input_required",
					   "completed",
					   "task.completed",
					   "failed",
					   "task.failed",
					   "cancelled",
					   "task.cancelled",
					   NULL,
					   NULL};
static const char *const session_actions[] = {
	"start", "session.start", "init_failed", "session.init_failed",
	"end",	 "session.end",	  NULL,		 NULL};
static const char *const http_actions[] = {"complete",
					   "http.complete",
					   "rejected",
					   "http.rejected",
					   "upstream_error",
					   "http.upstream_error",
					   "client_closed",
					   "http.client_closed",
					   NULL,
					   NULL};

/* The CRUD verb of a JSON-RPC method, from its last path segment. */
static enum api_activity method_verb(struct vstr method)
{
	static const char *const reads[] = {"list", "get", "read", "result", "complete"};
	static const char *const updates[] = {"cancel", "setLevel", "subscribe", "unsubscribe",
					      "update"};
	if (!method.s)
		return API_OTHER;
	const char *slash = memrchr(method.s, '/', method.len);
	struct vstr last =
		slash ? (struct vstr){slash + 1, method.len - (size_t)(slash + 1 - method.s)}
		      : method;
	for (size_t i = 0; i < sizeof(reads) / sizeof(reads[0]); i++)
		if (vstr_eq(last, reads[i]))
			return API_READ;
	for (size_t i = 0; i < sizeof(updates) / sizeof(updates[0]); i++)
		if (vstr_eq(last, updates[i]))
			return API_UPDATE;
	if (vstr_starts(last, "create"))
		return API_CREATE;
	if (vstr_eq(last, "delete"))
		return API_DELETE;
	return API_OTHER;
}

static void set_status(struct event_view *v, enum view_status status, int severity)
{
	v->status = status;
	v->severity = severity;
}

static void read_call_outcome(struct event_view *v, const json_t *obj)
{
	v->detail = str_at(obj, "outcome");
	set_status(v, STATUS_UNKNOWN, 1);
	for (size_t i = 0; i < sizeof(call_outcomes) / sizeof(call_outcomes[0]); i++)
		if (vstr_eq(v->detail, call_outcomes[i].outcome))
			set_status(v, call_outcomes[i].status, call_outcomes[i].severity);
	const json_t *latency = json_object_get(obj, "latency_ms");
	if (json_is_number(latency)) {
		v->has_latency = true;
		v->latency_ms = json_number_value(latency);
	}
	const json_t *error = json_object_get(obj, "error");
	v->has_error_code = int_at(error, "code", &v->error_code);
	v->message = str_at(error, "message");
	v->rpc_id = str_at(obj, "rpc_id");
	v->started_at = str_at(obj, "started_at");
	v->ended_at = str_at(obj, "ended_at");
	int_at(obj, "attempts", &v->attempts);
}

static void read_http_exchange(struct event_view *v, const json_t *h)
{
	int_at(h, "status", &v->http_status);
	v->http_method = str_at(h, "method");
	v->method = v->operation = str_at(h, "rpc_method");
	v->rpc_id = str_at(h, "rpc_id");
	v->tool = str_at(h, "tool");
	v->message = str_at(h, "error");
	const json_t *challenge = json_object_get(h, "challenge");
	v->challenge_scheme = str_at(challenge, "scheme");
	v->challenge_error = str_at(challenge, "error");
	v->challenge_scope = array_at(challenge, "scope");
	struct vstr description = str_at(challenge, "error_description");
	v->message = first_of(description, first_of(v->challenge_error, v->message));
	set_status(v, STATUS_FAILURE, 2);
}

static void read_identity(struct event_view *v)
{
	const json_t *id = json_object_get(v->event, "identity");
	v->subject = str_at(id, "subject");
	v->issuer = str_at(id, "issuer");
	v->client_id = str_at(id, "client_id");
	v->identity_source = str_at(id, "source");
	v->scopes = array_at(id, "scopes");
	v->actors = array_at(id, "actors");
	const json_t *verified = json_object_get(id, "verified");
	v->verified = json_is_boolean(verified) ? json_is_true(verified) : -1;
	const json_t *token = json_object_get(id, "token");
	v->fingerprint = str_at(token, "fingerprint");
	v->token_class = str_at(token, "class");
	v->identity_class = str_at(id, "class");
}

static void read_session(struct event_view *v)
{
	const json_t *s = json_object_get(v->event, "session");
	v->session_id = str_at(s, "id");
	v->transport = str_at(s, "transport");
	v->protocol_version = str_at(s, "protocol_version");
	v->host = str_at(s, "host");
	const json_t *client = json_object_get(s, "client");
	v->client_name = str_at(client, "name");
	v->client_version = str_at(client, "version");
	const json_t *server = json_object_get(s, "server");
	v->server_name = str_at(server, "name");
	v->server_version = str_at(server, "version");
}

static int finding_severity(struct vstr s)
{
	static const char *const levels[] = {"info", "low", "medium", "high", "critical"};
	for (int i = 0; i < 5; i++)
		if (vstr_eq(s, levels[i]))
			return i + 1;
	return 0;
}

static void read_kind(struct event_view *v)
{
	const json_t *ev = v->event;
	const json_t *o;
	json_int_t n1 = 0, n2 = 0, n3 = 0;
	switch (v->kind) {
	case EVENT_TOOL_CALL:
		o = json_object_get(ev, "call");
		v->method = v->operation = v->action = vstr_c("tools/call");
		v->verb =
			API_OTHER; /* the tool's effect is unknown: its annotations are untrusted */
		read_call_outcome(v, o);
		v->tool = str_at(o, "tool");
		v->traceparent = str_at(o, "traceparent");
		int_at(o, "http_status", &v->http_status);
		v->task_id = str_at(json_object_get(ev, "task"), "id");
		v->direction = vstr_c("client_to_server");
		break;
	case EVENT_REQUEST:
	case EVENT_SAMPLING:
	case EVENT_ELICITATION:
	case EVENT_ROOTS:
		o = json_object_get(ev, "request");
		read_call_outcome(v, o);
		v->method = v->operation = str_at(o, "method");
		v->action = first_of(v->method, v->type);
		v->direction = str_at(o, "direction");
		v->target = str_at(o, "target");
		v->task_id = first_of(str_at(o, "task_id"), str_at(o, "related_task"));
		v->verb = v->kind == EVENT_SAMPLING || v->kind == EVENT_ELICITATION ? API_CREATE
			  : v->kind == EVENT_ROOTS				    ? API_READ
						   : method_verb(v->method);
		if (v->kind == EVENT_ELICITATION)
			v->url = str_at(json_object_get(ev, "elicitation"), "url");
		break;
	case EVENT_TASK: {
		o = json_object_get(ev, "task");
		struct vstr changed_by = str_at(o, "changed_by");
		v->task_id = str_at(o, "id");
		v->tool = str_at(o, "tool");
		v->rpc_id = str_at(o, "call_rpc_id");
		v->detail = str_at(o, "status");
		v->message = str_at(o, "status_message");
		v->action = pick(v->detail, task_actions, "task");
		v->verb = vstr_eq(changed_by, "created") ? API_CREATE : API_UPDATE;
		/* "created": the CreateTaskResult answering tools/call */
		v->method = v->operation =
			vstr_eq(changed_by, "created") ? vstr_c("tools/call") : changed_by;
		v->direction = vstr_c("client_to_server");
		set_status(v, STATUS_UNKNOWN, 1);
		if (vstr_eq(v->detail, "completed"))
			set_status(v, STATUS_SUCCESS, 1);
		else if (vstr_eq(v->detail, "failed"))
			set_status(v, STATUS_FAILURE, 2);
		else if (vstr_eq(v->detail, "cancelled"))
			set_status(v, STATUS_OTHER, 1);
		break;
	}
	case EVENT_SESSION:
		o = json_object_get(ev, "session");
		v->detail = str_at(o, "state");
		v->action = pick(v->detail, session_actions, "session");
		v->direction = vstr_c("client_to_server");
		v->started_at = str_at(o, "started_at");
		set_status(v, STATUS_UNKNOWN, 1);
		v->verb = API_OTHER;
		if (vstr_eq(v->detail, "start") || vstr_eq(v->detail, "init_failed")) {
			v->method = v->operation = vstr_c("initialize");
			v->verb = API_CREATE;
		}
		if (vstr_eq(v->detail, "start")) {
			set_status(v, STATUS_SUCCESS, 1);
			v->name = "MCP session start";
		} else if (vstr_eq(v->detail, "init_failed")) {
			set_status(v, STATUS_FAILURE, 2);
			v->name = "MCP session initialization failed";
		} else if (vstr_eq(v->detail, "end")) {
			set_status(v, STATUS_SUCCESS, 1);
			v->name = "MCP session end";
		}
		break;
	case EVENT_AUTH:
		o = json_object_get(ev, "auth");
		read_http_exchange(v, o);
		v->detail = str_at(o, "kind");
		v->direction = vstr_c("client_to_server");
		v->verb = API_OTHER;
		if (vstr_eq(v->detail, "insufficient_scope") ||
		    (!v->detail.s && v->http_status == 403)) {
			v->action = vstr_c("auth.insufficient_scope");
			v->name = "MCP insufficient scope";
			v->severity = 3;
		} else {
			v->action = vstr_c("auth.challenge");
		}
		break;
	case EVENT_HTTP_ERROR:
		o = json_object_get(ev, "http");
		read_http_exchange(v, o);
		v->detail = str_at(o, "outcome");
		v->action = pick(v->detail, http_actions, "http.error");
		v->direction = vstr_c("client_to_server");
		v->verb = API_OTHER;
		break;
	case EVENT_INVALID_MESSAGE:
		o = json_object_get(ev, "invalid");
		v->action = vstr_c("invalid_message");
		v->message = str_at(o, "reason");
		v->direction = str_at(o, "direction");
		v->source_name = str_at(json_object_get(o, "source"), "name");
		v->verb = API_OTHER;
		set_status(v, STATUS_FAILURE, 2);
		break;
	case EVENT_CAPTURE_GAP:
		o = json_object_get(ev, "gap");
		v->action = vstr_c("capture.gap");
		v->direction = str_at(o, "direction");
		if (int_at(o, "frames", &n1))
			v->frames_lost = n1;
		if (v->frames_lost >= 0 && int_at(o, "bytes", &n2)) {
			snprintf(v->message_buf, sizeof(v->message_buf),
				 "capture lost %lld frames (%lld bytes)", (long long)n1,
				 (long long)n2);
			v->message = vstr_c(v->message_buf);
		}
		set_status(v, STATUS_FAILURE, 3); /* a hole in the audit trail */
		break;
	case EVENT_FINDING:
		o = json_object_get(ev, "finding");
		v->finding_kind = str_at(o, "kind");
		v->finding_action = str_at(o, "action");
		v->creator_subject = str_at(json_object_get(o, "creator"), "subject");
		v->creator_issuer = str_at(json_object_get(o, "creator"), "issuer");
		v->detail = v->finding_kind;
		v->action = first_of(v->finding_kind, v->type);
		v->message = str_at(o, "summary");
		v->task_id = str_at(json_object_get(ev, "task"), "id");
		v->url = str_at(json_object_get(o, "client_metadata"), "url");
		set_status(v, STATUS_UNKNOWN, finding_severity(str_at(o, "severity")));
		break;
	case EVENT_GRANT: {
		o = json_object_get(ev, "grant");
		v->detail = str_at(o, "grant_type");
		v->action = vstr_c("grant");
		v->message = str_at(o, "error");
		v->url = str_at(o, "audience");
		v->verb = API_CREATE;
		const json_t *ok = json_object_get(o, "success");
		set_status(v, json_is_true(ok) ? STATUS_SUCCESS : STATUS_FAILURE,
			   json_is_true(ok) ? 1 : 3);
		break;
	}
	case EVENT_INGEST_ERROR:
		o = json_object_get(ev, "error");
		v->action = vstr_c("ingest.error");
		v->message = str_at(o, "reason");
		v->source_name = str_at(o, "source");
		set_status(v, STATUS_FAILURE, 2);
		break;
	case EVENT_INGEST_SUMMARY: {
		o = json_object_get(ev, "ingest");
		v->action = vstr_c("ingest.summary");
		v->source_name = str_at(o, "source");
		const json_t *readable_value = json_object_get(o, "readable");
		bool readable = json_is_true(readable_value);
		bool bad = int_at(o, "bad_lines", &n3) && n3 > 0;
		if (int_at(o, "lines", &n1) && int_at(o, "records", &n2)) {
			snprintf(v->message_buf, sizeof(v->message_buf),
				 "%lld lines, %lld records, %lld bad lines", (long long)n1,
				 (long long)n2, (long long)n3);
			v->message = vstr_c(v->message_buf);
		}
		if (json_is_boolean(readable_value))
			set_status(v, readable ? STATUS_SUCCESS : STATUS_FAILURE,
				   readable && !bad ? 1 : 2);
		else
			set_status(v, STATUS_UNKNOWN, 1);
		break;
	}
	case EVENT_OTHER:
		v->action = v->type;
		set_status(v, STATUS_UNKNOWN, 1);
		break;
	}
}

int event_view_init(struct event_view *v, const json_t *event)
{
	memset(v, 0, sizeof(*v));
	v->event = event;
	v->type = str_at(event, "type");
	v->event_id = str_at(event, "event_id");
	v->time = str_at(event, "time");
	if (!v->type.s || !v->event_id.s || !parse_rfc3339_ms(v->time.s, v->time.len, &v->time_ms))
		return -1;
	v->kind = EVENT_OTHER;
	v->name = "mcptrail event";
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (vstr_eq(v->type, kinds[i].type)) {
			v->kind = kinds[i].kind;
			v->name = kinds[i].name;
		}
	v->verified = -1;
	v->frames_lost = -1;
	read_identity(v);
	read_session(v);
	read_kind(v);
	if (v->kind == EVENT_FINDING && v->message.s && v->message.len < 200 &&
	    !memchr(v->message.s, '\0', v->message.len))
		v->name = v->message.s; /* the finding's one-line summary */
	v->outcome = v->status == STATUS_SUCCESS   ? "success"
		     : v->status == STATUS_FAILURE ? "failure"
						   : "unknown";
	v->has_started = parse_rfc3339_ms(v->started_at.s, v->started_at.len, &v->started_ms);
	v->has_ended = parse_rfc3339_ms(v->ended_at.s, v->ended_at.len, &v->ended_ms);
	return 0;
}

/* ---- building JSON documents (OCSF, ECS) ---- */

json_t *jb_set(struct json_build *b, json_t *obj, const char *key, json_t *val)
{
	if (b->failed || !obj || !val) {
		b->failed = true;
		json_decref(val);
		return NULL;
	}
	if (json_object_set_new(obj, key, val) != 0) {
		b->failed = true;
		return NULL;
	}
	return val;
}

json_t *jb_object(struct json_build *b, json_t *obj, const char *key)
{
	return jb_set(b, obj, key, json_object());
}

void jb_str(struct json_build *b, json_t *obj, const char *key, struct vstr v)
{
	if (v.s)
		jb_set(b, obj, key, json_stringn(v.s, v.len));
}

void jb_cstr(struct json_build *b, json_t *obj, const char *key, const char *s)
{
	if (s)
		jb_set(b, obj, key, json_string(s));
}

void jb_int(struct json_build *b, json_t *obj, const char *key, json_int_t n)
{
	jb_set(b, obj, key, json_integer(n));
}

void jb_bool(struct json_build *b, json_t *obj, const char *key, bool value)
{
	jb_set(b, obj, key, json_boolean(value));
}

void jb_copy(struct json_build *b, json_t *obj, const char *key, const json_t *value)
{
	if (value)
		jb_set(b, obj, key, json_deep_copy(value));
}

void jb_append(struct json_build *b, json_t *array, json_t *val)
{
	if (b->failed || !array || !val) {
		b->failed = true;
		json_decref(val);
		return;
	}
	if (json_array_append_new(array, val) != 0) /* which released val */
		b->failed = true;
}

json_t *jb_mcp_members(struct json_build *b, const struct event_view *v)
{
	json_t *mcp = json_object();
	const char *key;
	json_t *value;
	if (!mcp) {
		b->failed = true;
		return NULL;
	}
	/* the envelope's event_id, type and time are mapped to each encoding's own fields */
	json_object_foreach((json_t *)v->event, key, value)
	{
		if (strcmp(key, "event_id") != 0 && strcmp(key, "type") != 0 &&
		    strcmp(key, "time") != 0)
			jb_copy(b, mcp, key, value);
	}
	json_t *arguments = json_object_get(json_object_get(mcp, "call"), "arguments");
	json_t *redacted = json_object_get(arguments, "redacted");
	if (redacted && !json_is_string(redacted)) {
		char *text = json_dumps(redacted, JSON_COMPACT | JSON_ENCODE_ANY);
		jb_set(b, arguments, "redacted", text ? json_string(text) : NULL);
		free(text);
	}
	return mcp;
}

int jb_finish(struct json_build *b, json_t *root, struct strbuf *out)
{
	int rc = -1;
	if (!b->failed && root)
		rc = json_write_compact(root, out);
	json_decref(root);
	return rc;
}
