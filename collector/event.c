#include "collector/event.h"

#include "collector/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t *event_time(int64_t ns)
{
	char buf[48];
	format_rfc3339_ns(ns, buf);
	return json_string(buf);
}

json_t *event_string_lossy(const char *s)
{
	size_t n = strlen(s);
	if (utf8_valid(s, n))
		return json_stringn(s, n);
	/* a file name is bytes; an event is UTF-8 */
	char *copy = strdup(s);
	if (!copy)
		return json_string("?");
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)copy[i] >= 0x80)
			copy[i] = '?';
	json_t *v = json_string(copy);
	free(copy);
	return v;
}

void event_id_for(const char *type, const char *id_seed, char out[33])
{
	struct strbuf b = STRBUF_INIT;
	strbuf_printf(&b, "%s|%s", type, id_seed);
	char hex[65];
	sha256_hex(b.data ? b.data : "", b.len, hex);
	strbuf_free(&b);
	memcpy(out, hex, 32);
	out[32] = '\0';
}

json_t *event_envelope(const char *type, int64_t time_ns, const char *id_seed)
{
	char hex[33];
	event_id_for(type, id_seed, hex);
	json_t *ev = json_object();
	json_object_set_new(ev, "schema", json_string(EVENT_SCHEMA));
	json_object_set_new(ev, "event_id", json_string(hex));
	json_object_set_new(ev, "type", json_string(type));
	json_object_set_new(ev, "time", event_time(time_ns));
	return ev;
}

json_t *event_ingest_error(const char *source, uint64_t line, uint64_t offset, const char *reason,
			   const void *bytes, size_t len, uint64_t real_len, int64_t time_ns)
{
	char seed[512];
	snprintf(seed, sizeof(seed), "%s|%llu|%llu", source, (unsigned long long)line,
		 (unsigned long long)offset);
	json_t *ev = event_envelope("ingest.error", time_ns, seed);
	char digest[65];
	sha256_hex(bytes, len, digest);
	json_t *err = json_object();
	json_object_set_new(err, "reason", json_string(reason));
	json_object_set_new(err, "source", event_string_lossy(source));
	json_object_set_new(err, "line", json_integer((json_int_t)line));
	json_object_set_new(err, "offset", json_integer((json_int_t)offset));
	json_object_set_new(err, "bytes", json_integer((json_int_t)real_len));
	json_object_set_new(err, "sha256", json_string(digest));
	json_object_set_new(err, "digest_covers_bytes", json_integer((json_int_t)len));
	json_object_set_new(ev, "error", err);
	return ev;
}
