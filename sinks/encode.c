#include "sinks/encode.h"

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

static int append_cb(const char *buffer, size_t size, void *data)
{
	return strbuf_append(data, buffer, size) ? 0 : -1;
}

static int encode_json(const json_t *event, struct strbuf *out)
{
	return json_dump_callback(event, append_cb, out, JSON_COMPACT);
}

int encode_event(enum event_encoding e, const json_t *event, struct strbuf *out)
{
	size_t mark = out->len;
	int rc = -1;
	switch (e) {
	case ENCODING_JSON:
		rc = encode_json(event, out);
		break;
	default:
		rc = -1; /* other encodings: sinks/encode_*.c */
		break;
	}
	if (rc != 0) {
		out->len = mark;
		if (out->data)
			out->data[mark] = '\0';
	}
	return rc;
}
