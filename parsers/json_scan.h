/* json_scan: the hot-path JSON-RPC frame scanner.
 *
 * One C++17 file (json_scan.cpp) wraps simdjson's On-Demand API behind this plain C interface.
 * A scan walks the whole frame once (validating every value, so malformed JSON anywhere is
 * caught), classifies it and extracts the handful of fields the correlator needs. It never
 * builds a DOM. All spans point either into the caller's buffer or into the scanner's own
 * string buffer, and stay valid until the next call on the same scanner.
 */
#ifndef MCPTRAIL_JSON_SCAN_H
#define MCPTRAIL_JSON_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bytes that must be readable after the end of a buffer given to the scanner. A caller that
 * cannot promise them passes capacity == len and the scanner copies the frame. */
#define JSON_SCAN_PADDING 64

enum json_msg_kind {
	JSON_MSG_INVALID = 0,
	JSON_MSG_REQUEST,
	JSON_MSG_NOTIFICATION,
	JSON_MSG_RESULT,
	JSON_MSG_ERROR,
};

/* The JSON type of an id-like value (request id, progress token, cancelled requestId). */
enum json_id_kind {
	JSON_ID_NONE = 0, /* absent */
	JSON_ID_NUMBER,	  /* text kept exactly as written, e.g. "42" */
	JSON_ID_STRING,	  /* unescaped string contents */
	JSON_ID_NULL,
	JSON_ID_OTHER, /* an object, array or boolean: not a valid id */
};

struct json_span {
	const char *ptr; /* NULL when absent */
	size_t len;
};

struct json_id {
	enum json_id_kind kind;
	struct json_span text;
};

struct json_scan {
	enum json_msg_kind kind;
	const char *invalid_reason; /* static text when kind == JSON_MSG_INVALID, else NULL */

	struct json_id id;
	struct json_span method;

	/* params.* */
	struct json_span params;      /* raw span of the whole params value */
	struct json_span params_name; /* tools/call, prompts/get */
	struct json_span params_uri;  /* resources/read */
	struct json_span arguments;   /* raw span of params.arguments */
	bool params_has_task;	      /* params.task present (task-augmented request) */
	struct json_span params_task; /* raw span of params.task */
	struct json_span params_task_id;
	struct json_span params_status;	      /* notifications/tasks/status */
	struct json_id params_request_id;     /* notifications/cancelled */
	struct json_id params_progress_token; /* notifications/progress */
	struct json_span params_mode;	      /* elicitation/create */
	struct json_span params_elicitation_id;

	/* _meta of params (requests, notifications) or of result */
	struct json_id meta_progress_token;
	struct json_span related_task_id; /* _meta["io.modelcontextprotocol/related-task"].taskId */
	struct json_span traceparent;	  /* _meta.traceparent (W3C, SEP-414) */
	bool meta_client_info; /* _meta[\"io.modelcontextprotocol/clientInfo\"] present (2026-07-28)
				*/

	/* result.* */
	struct json_span result;	 /* raw span of the whole result value */
	struct json_span result_task_id; /* result.task.taskId (CreateTaskResult) */
	struct json_span result_task_status;
	struct json_span result_status;	     /* result.status (tasks/get, tasks/cancel) */
	struct json_span result_task_id_top; /* result.taskId (tasks/get, tasks/cancel) */
	int result_is_error;		     /* -1 absent, 0 false, 1 true */
	struct json_span result_action;	     /* elicitation result: accept/decline/cancel */
	int64_t result_task_ttl;      /* result.task.ttl in ms; -1 absent, -2 null (unlimited) */
	long result_tasks_count;      /* tasks/list: length of result.tasks, -1 absent */
	struct json_span result_type; /* result.resultType (\"task\" for a 2026-07-28 task) */

	/* error.* */
	bool has_error_code;
	int64_t error_code;
	struct json_span error_message;
};

typedef struct json_scanner json_scanner;

json_scanner *json_scanner_new(void);
void json_scanner_free(json_scanner *scanner);

/* Scans one frame of len bytes. capacity is how many bytes from buf are readable (at least len;
 * len + JSON_SCAN_PADDING or more avoids a copy). Always fills *out; returns out->kind. */
enum json_msg_kind json_scanner_scan(json_scanner *scanner, const char *buf, size_t len,
				     size_t capacity, struct json_scan *out);

/* Checks that buf is one complete, valid JSON value (UTF-8, syntax, depth). Returns NULL when it
 * is, else a static reason. Used by the tap to decide whether a frame can be stored verbatim. */
const char *json_scanner_validate(json_scanner *scanner, const char *buf, size_t len,
				  size_t capacity);

/* Maximum nesting accepted; deeper documents are invalid ("too deep"). */
#define JSON_SCAN_MAX_DEPTH 512

#ifdef __cplusplus
}
#endif

#endif
