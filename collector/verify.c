/* verify: `mcptrail verify`, the checker of chained file-sink output (see verify.h). It walks the
 * trail once, line by line, and stops at the first line that breaks it. Only then does it read
 * on to the end of that segment, to tell an altered record from a removed, inserted or moved
 * one. */
#include "collector/verify.h"

#include "collector/util.h"
#include "sinks/file_chain.h"
#include "sinks/file_segment.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEX (CHAIN_HEX_LEN + 1)

struct input {
	const char *path; /* or the name of a memory input */
	const void *mem;
	size_t mem_len;
	bool is_mem;
	bool has_seq, active;
	uint64_t name_seq, sort_key;
	size_t order;
};

/* A record of the current segment: its stored chain value and where it is. */
struct link {
	char chain[HEX];
	uint64_t line;
};

struct links {
	struct link *v;
	size_t n, cap;
};

struct verifier {
	const struct verify_options *opt;
	struct verify_result *res;
	char prev[HEX]; /* the chain value of the last record, or what the trail starts from */
	bool prev_known;
	uint64_t next_segment; /* the number the next manifest must carry; 0: not known */
	/* the current segment */
	uint64_t seg_records;
	char seg_first[HEX], seg_prev[HEX];
	bool seg_prev_known;
	struct links links;
	/* the current file */
	const struct input *in;
	uint64_t file_manifests;
	struct strbuf payload;
};

static bool links_push(struct links *l, const char chain[HEX], uint64_t line)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 256;
		struct link *grown = realloc(l->v, cap * sizeof(*grown));
		if (!grown)
			return false;
		l->v = grown;
		l->cap = cap;
	}
	memcpy(l->v[l->n].chain, chain, HEX);
	l->v[l->n++].line = line;
	return true;
}

static void set_text(char *out, size_t outlen, const char *fmt, va_list ap)
{
	vsnprintf(out, outlen, fmt, ap);
}

/* Records the first bad place: the current file, line (0: the file itself), record (0: none). */
static int fail(struct verifier *v, uint64_t line, uint64_t record, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(struct verifier *v, uint64_t line, uint64_t record, const char *fmt, ...)
{
	struct verify_result *res = v->res;
	res->ok = false;
	snprintf(res->file, sizeof(res->file), "%s", v->in ? v->in->path : "");
	res->line = line;
	res->record = record;
	res->segment = v->next_segment;
	va_list ap;
	va_start(ap, fmt);
	set_text(res->problem, sizeof(res->problem), fmt, ap);
	va_end(ap);
	return 1;
}

static void say(char *out, size_t outlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void say(char *out, size_t outlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	set_text(out, outlen, fmt, ap);
	va_end(ap);
}

static struct segment_reader *open_input(const struct input *in, const struct verify_options *opt,
					 char *err, size_t errlen)
{
	struct segment_reader *r = in->is_mem ? segment_reader_memory(in->mem, in->mem_len)
					      : segment_reader_open(in->path, err, errlen);
	if (!r && in->is_mem)
		snprintf(err, errlen, "out of memory");
	if (r && opt->max_bytes)
		segment_reader_set_limit(r, opt->max_bytes);
	return r;
}

/* ---- diagnosis of a broken link ---- */

struct lookahead {
	struct links after; /* the records after the bad line, to the end of its segment */
	uint64_t lines_after;
	bool have_next; /* the line right after is a chained record */
	struct strbuf next_payload;
	char next_chain[HEX];
	bool have_manifest;
	struct chain_manifest manifest;
};

static void read_rest_of_segment(struct segment_reader *r, struct lookahead *la)
{
	struct strbuf scratch = STRBUF_INIT;
	const char *line;
	size_t len;
	bool terminated;
	char chain[HEX], why[200];
	while (segment_reader_next(r, &line, &len, &terminated) == 1 && terminated) {
		if (chain_line_is_manifest(line, len)) {
			la->have_manifest = chain_manifest_parse(line, len, &la->manifest, why,
								 sizeof(why)) == 0;
			break;
		}
		bool chained = chain_line_split(line, len, &scratch, chain);
		if (la->lines_after++ == 0 && chained) {
			la->have_next = strbuf_append(&la->next_payload, scratch.data, scratch.len);
			memcpy(la->next_chain, chain, HEX);
		}
		if (chained && !links_push(&la->after, chain, segment_reader_line(r)))
			break;
	}
	strbuf_free(&scratch);
}

static bool links_to(const char from[HEX], const struct strbuf *payload, const char to[HEX])
{
	char x[HEX];
	chain_link(from, payload->data, payload->len, x);
	return strcmp(x, to) == 0;
}

/* Explains the break at line `line` (stored: its chain value, or NULL when it has none). */
static void diagnose(struct verifier *v, struct segment_reader *r, const char *stored,
		     uint64_t line)
{
	struct verify_result *res = v->res;
	struct lookahead la = {.next_payload = STRBUF_INIT};
	/* the bad line's payload is in v->payload; the lookahead parses into its own buffers */
	read_rest_of_segment(r, &la);
	uint64_t in_segment = v->seg_records + la.lines_after;
	const struct chain_manifest *m = la.have_manifest ? &la.manifest : NULL;
	if (m)
		res->segment = m->segment; /* the segment this record is in, by its manifest */
	if (stored && v->seg_records == 1 && m && strcmp(m->prev_last_chain, v->prev) != 0 &&
	    links_to(m->prev_last_chain, &v->payload, stored)) {
		if (v->next_segment && m->segment > v->next_segment)
			say(res->cause, sizeof(res->cause),
			    "segment %llu is missing%s: this file holds segment %llu, which "
			    "continues "
			    "a chain ending in %.16s..., but the segment before it ends in "
			    "%.16s...",
			    (unsigned long long)v->next_segment,
			    m->segment > v->next_segment + 1 ? " (and those up to it)" : "",
			    (unsigned long long)m->segment, m->prev_last_chain, v->prev);
		else
			say(res->cause, sizeof(res->cause),
			    "this segment continues a chain ending in %.16s..., not the %.16s... "
			    "the "
			    "segment before it ends in: a segment between them is missing or was "
			    "replaced",
			    m->prev_last_chain, v->prev);
		goto out;
	}
	if (stored) {
		/* a copy of another record of the segment */
		for (int pass = 0; pass < 2; pass++) {
			const struct links *l = pass ? &la.after : &v->links;
			for (size_t i = 0; i < l->n; i++) {
				if (strcmp(l->v[i].chain, stored) == 0) {
					say(res->cause, sizeof(res->cause),
					    "this line repeats the chain value of the record on "
					    "line %llu: a replayed (duplicated) or forged line",
					    (unsigned long long)l->v[i].line);
					goto out;
				}
			}
		}
		/* its true predecessor elsewhere: moved, or lines inserted before it */
		for (size_t i = 0; i < la.after.n; i++) {
			if (links_to(la.after.v[i].chain, &v->payload, stored)) {
				say(res->cause, sizeof(res->cause),
				    "records out of order: in the chain this record comes right "
				    "after the record on line %llu (lines were moved or swapped)",
				    (unsigned long long)la.after.v[i].line);
				goto out;
			}
		}
		for (size_t i = 0; i + 1 < v->links.n; i++) {
			if (links_to(v->links.v[i].chain, &v->payload, stored)) {
				char span[64];
				uint64_t from = v->links.v[i].line + 1, to = line - 1;
				if (from == to)
					snprintf(span, sizeof(span), "line %llu does",
						 (unsigned long long)from);
				else
					snprintf(span, sizeof(span), "lines %llu to %llu do",
						 (unsigned long long)from, (unsigned long long)to);
				say(res->cause, sizeof(res->cause),
				    "%s not belong in the chain (inserted with forged chain "
				    "values): "
				    "this record's predecessor is on line %llu",
				    span, (unsigned long long)v->links.v[i].line);
				goto out;
			}
		}
	}
	if (la.have_next && links_to(v->prev, &la.next_payload, la.next_chain)) {
		say(res->cause, sizeof(res->cause),
		    "this line does not belong in the chain: it was inserted (or replaced along "
		    "with "
		    "its chain value); the next line continues the chain from the line before it");
		goto out;
	}
	if (!stored) {
		say(res->cause, sizeof(res->cause),
		    "a line inserted or damaged, or a file not written with chain=1");
		goto out;
	}
	if ((la.have_next && links_to(stored, &la.next_payload, la.next_chain)) ||
	    (la.lines_after == 0 && m && strcmp(m->last_chain, stored) == 0)) {
		if (m && m->records > in_segment)
			say(res->cause, sizeof(res->cause),
			    "%llu record(s) removed just before this line: the manifest of segment "
			    "%llu counts %llu records, the segment holds %llu (this record itself "
			    "still matches the records after it)",
			    (unsigned long long)(m->records - in_segment),
			    (unsigned long long)m->segment, (unsigned long long)m->records,
			    (unsigned long long)in_segment);
		else
			say(res->cause, sizeof(res->cause),
			    "the record was altered after it was written: its content no longer "
			    "matches its chain value, which still links to %s",
			    la.lines_after ? "the next record" : "the segment's manifest");
		goto out;
	}
	say(res->cause, sizeof(res->cause),
	    "the chain breaks here and does not resume on the next line: several lines around "
	    "this one were changed, removed or inserted");
out:
	free(la.after.v);
	strbuf_free(&la.next_payload);
}

/* ---- lines ---- */

static void segment_reset(struct verifier *v)
{
	v->seg_records = 0;
	v->seg_prev_known = false;
	v->links.n = 0;
}

static int check_record(struct verifier *v, struct segment_reader *r, const char *line, size_t len,
			uint64_t ln)
{
	struct verify_result *res = v->res;
	uint64_t index = ++res->records;
	v->seg_records++;
	char stored[HEX], expected[HEX];
	if (!chain_line_split(line, len, &v->payload, stored)) {
		fail(v, ln, index, "not a chained record");
		say(res->expected, sizeof(res->expected),
		    "a JSON object ending in \"chain\":\"<64 hex digits>\"}");
		say(res->found, sizeof(res->found), "%.*s%s", len > 60 ? 60 : (int)len, line,
		    len > 60 ? "..." : "");
		diagnose(v, r, NULL, ln);
		return 1;
	}
	if (v->seg_records == 1) {
		memcpy(v->seg_first, stored, HEX);
		memcpy(v->seg_prev, v->prev, HEX);
		v->seg_prev_known = v->prev_known;
	}
	if (v->prev_known) {
		chain_link(v->prev, v->payload.data, v->payload.len, expected);
		if (strcmp(expected, stored) != 0) {
			fail(v, ln, index, "chain mismatch");
			say(res->expected, sizeof(res->expected), "%s", expected);
			say(res->found, sizeof(res->found), "%s", stored);
			diagnose(v, r, stored, ln);
			return 1;
		}
	}
	if (!links_push(&v->links, stored, ln))
		return fail(v, ln, index, "out of memory");
	memcpy(v->prev, stored, HEX);
	v->prev_known = true;
	return 0;
}

static int manifest_fail(struct verifier *v, uint64_t ln, const struct chain_manifest *m,
			 const char *problem, const char *expected, const char *found)
{
	fail(v, ln, 0, "%s", problem);
	v->res->segment = m->segment;
	say(v->res->expected, sizeof(v->res->expected), "%s", expected);
	say(v->res->found, sizeof(v->res->found), "%s", found);
	return 1;
}

static int check_manifest(struct verifier *v, const char *line, size_t len, uint64_t ln)
{
	struct verify_result *res = v->res;
	const struct verify_options *opt = v->opt;
	struct chain_manifest m;
	char why[200], expected[160], found[160];
	if (chain_manifest_parse(line, len, &m, why, sizeof(why)) != 0) {
		fail(v, ln, 0, "a damaged manifest: %s", why);
		say(res->cause, sizeof(res->cause), "the manifest line was edited or cut");
		return 1;
	}
	if (opt->key) {
		char mac[HEX];
		chain_manifest_hmac(line, len, opt->key, opt->keylen, mac);
		if (strcmp(mac, m.hmac) != 0) {
			manifest_fail(v, ln, &m,
				      "the manifest does not authenticate (hmac mismatch)", mac,
				      m.hmac);
			if (strcmp(m.key_id, res->key_id) != 0)
				say(res->cause, sizeof(res->cause),
				    "it was signed with another key (key id %s; the given key's id "
				    "is %s): a wrong --key, or a forged manifest",
				    m.key_id, res->key_id);
			else
				say(res->cause, sizeof(res->cause),
				    "the manifest was altered after it was signed");
			return 1;
		}
	}
	if (v->next_segment && m.segment != v->next_segment) {
		snprintf(expected, sizeof(expected), "segment %llu",
			 (unsigned long long)v->next_segment);
		snprintf(found, sizeof(found), "segment %llu", (unsigned long long)m.segment);
		manifest_fail(v, ln, &m, "unexpected segment number", expected, found);
		if (m.segment > v->next_segment)
			say(res->cause, sizeof(res->cause), "segment(s) %llu to %llu are missing",
			    (unsigned long long)v->next_segment, (unsigned long long)m.segment - 1);
		else
			say(res->cause, sizeof(res->cause),
			    "a segment is repeated or out of order");
		return 1;
	}
	if (v->file_manifests == 0 && v->in->has_seq && m.segment != v->in->name_seq) {
		snprintf(expected, sizeof(expected), "segment %llu (from the file name)",
			 (unsigned long long)v->in->name_seq);
		snprintf(found, sizeof(found), "segment %llu (in its manifest)",
			 (unsigned long long)m.segment);
		manifest_fail(v, ln, &m, "the file name and the manifest disagree", expected,
			      found);
		say(res->cause, sizeof(res->cause), "the file was renamed");
		return 1;
	}
	if (m.records != v->seg_records) {
		snprintf(expected, sizeof(expected), "%llu records (the manifest's count)",
			 (unsigned long long)m.records);
		snprintf(found, sizeof(found), "%llu records in the segment",
			 (unsigned long long)v->seg_records);
		manifest_fail(v, ln, &m, "record count", expected, found);
		say(res->cause, sizeof(res->cause), "%s",
		    m.records > v->seg_records
			    ? "record(s) removed at the end of the segment, or its manifest moved "
			      "up"
			    : "record(s) added at the end of the segment with forged chain values");
		return 1;
	}
	if (v->seg_records > 0 && strcmp(m.first_chain, v->seg_first) != 0) {
		manifest_fail(v, ln, &m, "first_chain differs from the segment's first record",
			      m.first_chain, v->seg_first);
		say(res->cause, sizeof(res->cause),
		    "the segment's first record(s) were replaced with forged chain values");
		return 1;
	}
	if (v->prev_known && strcmp(m.last_chain, v->prev) != 0) {
		manifest_fail(v, ln, &m, "last_chain differs from the segment's last record",
			      m.last_chain, v->prev);
		say(res->cause, sizeof(res->cause),
		    "the segment's last record(s) were replaced with forged chain values");
		return 1;
	}
	const char *before = v->seg_records ? v->seg_prev : v->prev;
	bool before_known = v->seg_records ? v->seg_prev_known : v->prev_known;
	if (before_known && strcmp(m.prev_last_chain, before) != 0) {
		manifest_fail(v, ln, &m, "prev_last_chain differs from where the segment starts",
			      m.prev_last_chain, before);
		say(res->cause, sizeof(res->cause),
		    "a segment before this one is missing or was replaced");
		return 1;
	}
	if (!v->prev_known) {
		memcpy(v->prev, m.last_chain, HEX);
		v->prev_known = true;
	}
	res->segments++;
	if (!res->first_segment)
		res->first_segment = m.segment;
	res->last_segment = m.segment;
	if (m.recovered)
		res->recovered++;
	v->next_segment = m.segment + 1;
	v->file_manifests++;
	segment_reset(v);
	return 0;
}

static int verify_input(struct verifier *v, const struct input *in, bool last)
{
	struct verify_result *res = v->res;
	char err[512];
	v->in = in;
	v->file_manifests = 0;
	struct segment_reader *r = open_input(in, v->opt, err, sizeof(err));
	if (!r) {
		fail(v, 0, 0, "cannot read: %s", err);
		return 2;
	}
	res->files++;
	int rc = 1;
	uint64_t lines = 0;
	const char *line;
	size_t len;
	bool terminated;
	for (;;) {
		int got = segment_reader_next(r, &line, &len, &terminated);
		if (got < 0) {
			fail(v, segment_reader_line(r) + 1, 0, "unreadable after line %llu: %s",
			     (unsigned long long)segment_reader_line(r), segment_reader_error(r));
			say(res->cause, sizeof(res->cause),
			    "the file was damaged or cut (compressed data must be complete)");
			goto out;
		}
		if (got == 0)
			break;
		uint64_t ln = segment_reader_line(r);
		lines++;
		if (!terminated) {
			if (last && in->active)
				break; /* a line being written right now */
			fail(v, ln, 0, "an incomplete last line (no line break)");
			say(res->cause, sizeof(res->cause),
			    "a write cut short by a crash, or the file was cut");
			goto out;
		}
		if (chain_line_is_manifest(line, len) ? check_manifest(v, line, len, ln)
						      : check_record(v, r, line, len, ln))
			goto out;
	}
	if (v->seg_records > 0) {
		if (last && in->active) {
			res->open_records = v->seg_records;
		} else {
			fail(v, 0, 0, "the file ends without a manifest");
			say(res->expected, sizeof(res->expected), "a manifest closing segment %llu",
			    (unsigned long long)v->next_segment);
			say(res->found, sizeof(res->found),
			    "%llu record(s) after the last manifest",
			    (unsigned long long)v->seg_records);
			say(res->cause, sizeof(res->cause),
			    "the manifest was removed or the file cut; or the writer crashed (the "
			    "sink closes such a segment with a recovered manifest when it "
			    "reopens)");
			goto out;
		}
	} else if (lines == 0 && !(last && in->active)) {
		fail(v, 0, 0, "an empty file");
		say(res->cause, sizeof(res->cause), "no record and no manifest: nothing to verify");
		goto out;
	}
	rc = 0;
out:
	segment_reader_free(r);
	return rc;
}

/* ---- order and anchor ---- */

static bool first_manifest(const struct input *in, const struct verify_options *opt,
			   struct chain_manifest *m)
{
	char err[256];
	struct segment_reader *r = open_input(in, opt, err, sizeof(err));
	bool found = false;
	const char *line;
	size_t len;
	bool terminated;
	while (r && segment_reader_next(r, &line, &len, &terminated) == 1) {
		if (chain_line_is_manifest(line, len)) {
			found = chain_manifest_parse(line, len, m, err, sizeof(err)) == 0;
			break;
		}
	}
	segment_reader_free(r);
	return found;
}

static void input_name(struct input *in)
{
	const char *slash = strrchr(in->path, '/');
	enum segment_kind kind;
	size_t base_len;
	in->has_seq =
		segment_name_parse(slash ? slash + 1 : in->path, &in->name_seq, &kind, &base_len) &&
		kind != SEGMENT_ZSTD_TMP;
	in->active = in->has_seq && kind == SEGMENT_ACTIVE;
}

static int by_segment(const void *a, const void *b)
{
	const struct input *x = a, *y = b;
	if (x->sort_key != y->sort_key)
		return x->sort_key < y->sort_key ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* Where the chain starts: genesis for segment 1, else (--partial) the first manifest's word. */
static int anchor(struct verifier *v, const struct input *first)
{
	struct chain_manifest m;
	bool have = first_manifest(first, v->opt, &m);
	uint64_t start = have ? m.segment : first->has_seq ? first->name_seq : 1;
	v->in = first;
	if (start == 1) {
		memcpy(v->prev, chain_genesis, HEX);
		v->prev_known = true;
		v->next_segment = 1;
		return 0;
	}
	if (!v->opt->partial) {
		fail(v, 0, 0, "the trail does not start at segment 1");
		v->res->segment = start;
		say(v->res->expected, sizeof(v->res->expected), "segment 1");
		say(v->res->found, sizeof(v->res->found), "segment %llu first",
		    (unsigned long long)start);
		if (start == 2)
			say(v->res->cause, sizeof(v->res->cause),
			    "segment 1 is missing (pass --partial when retention removed it)");
		else
			say(v->res->cause, sizeof(v->res->cause),
			    "segments 1 to %llu are missing (pass --partial when retention removed "
			    "them)",
			    (unsigned long long)start - 1);
		return 1;
	}
	v->next_segment = start;
	if (have) {
		memcpy(v->prev, m.prev_last_chain, HEX);
		v->prev_known = true;
	}
	return 0;
}

static int verify_inputs(struct input *in, size_t n, const struct verify_options *opt,
			 struct verify_result *res)
{
	memset(res, 0, sizeof(*res));
	if (opt->key) {
		res->authenticated = true;
		chain_key_id(opt->key, opt->keylen, res->key_id);
	}
	struct verifier v = {.opt = opt, .res = res, .payload = STRBUF_INIT};
	int rc = 1;
	for (size_t i = 0; i < n; i++) {
		struct chain_manifest m;
		input_name(&in[i]);
		in[i].order = i;
		in[i].sort_key = in[i].has_seq			   ? in[i].name_seq
				 : first_manifest(&in[i], opt, &m) ? m.segment
								   : UINT64_MAX;
	}
	qsort(in, n, sizeof(*in), by_segment);
	if (n == 0) {
		fail(&v, 0, 0, "no file given");
		goto out;
	}
	if ((rc = anchor(&v, &in[0])) != 0)
		goto out;
	for (size_t i = 0; i < n; i++)
		if ((rc = verify_input(&v, &in[i], i + 1 == n)) != 0)
			goto out;
	res->ok = true;
	rc = 0;
out:
	free(v.links.v);
	strbuf_free(&v.payload);
	return rc;
}

int verify_files(const char *const *paths, size_t n, const struct verify_options *opt,
		 struct verify_result *res)
{
	struct input *in = calloc(n ? n : 1, sizeof(*in));
	if (!in) {
		memset(res, 0, sizeof(*res));
		snprintf(res->problem, sizeof(res->problem), "out of memory");
		return 2;
	}
	for (size_t i = 0; i < n; i++)
		in[i].path = paths[i];
	int rc = verify_inputs(in, n, opt, res);
	free(in);
	return rc;
}

int verify_memory(const void *data, size_t len, const char *name, const struct verify_options *opt,
		  struct verify_result *res)
{
	struct input in = {.path = name, .mem = data, .mem_len = len, .is_mem = true};
	return verify_inputs(&in, 1, opt, res);
}

/* ---- the command ---- */

void verify_print(const struct verify_result *res, FILE *out)
{
	if (res->ok) {
		fprintf(out,
			"mcptrail verify: OK: %llu record%s in %llu segment%s (%llu to %llu) in "
			"%llu file%s\n",
			(unsigned long long)res->records, res->records == 1 ? "" : "s",
			(unsigned long long)res->segments, res->segments == 1 ? "" : "s",
			(unsigned long long)res->first_segment,
			(unsigned long long)res->last_segment, (unsigned long long)res->files,
			res->files == 1 ? "" : "s");
		if (res->authenticated)
			fprintf(out, "  manifests authenticated with key id %s\n", res->key_id);
		else
			fprintf(out,
				"  manifests NOT authenticated (no --key): chain values, counts "
				"and links checked only\n");
		if (res->first_segment > 1)
			fprintf(out,
				"  the trail starts at segment %llu (--partial): earlier segments "
				"were not checked\n",
				(unsigned long long)res->first_segment);
		if (res->recovered)
			fprintf(out,
				"  %llu segment(s) closed by crash recovery: their records were "
				"signed "
				"after the fact\n",
				(unsigned long long)res->recovered);
		if (res->open_records)
			fprintf(out,
				"  the last segment is still open: %llu record(s) chained, not "
				"signed "
				"yet\n",
				(unsigned long long)res->open_records);
		return;
	}
	fprintf(out, "mcptrail verify: FAILED at %s", res->file);
	if (res->line)
		fprintf(out, ":%llu", (unsigned long long)res->line);
	if (res->record)
		fprintf(out, ": record %llu", (unsigned long long)res->record);
	if (res->segment)
		fprintf(out, " (segment %llu)", (unsigned long long)res->segment);
	fprintf(out, ": %s\n", res->problem);
	if (*res->expected)
		fprintf(out, "  expected: %s\n  found:    %s\n", res->expected, res->found);
	if (*res->cause)
		fprintf(out, "  cause:    %s\n", res->cause);
}

static void verify_usage(FILE *f)
{
	fprintf(f, "usage: mcptrail verify [--key KEYFILE] [--partial] FILE...\n"
		   "  Checks file-sink output written with chain=1: every record's chain value,\n"
		   "  every segment's manifest (authenticated with --key, the sink's key=), and\n"
		   "  that no segment is missing. Files in any order, plain or .zst. Prints OK,\n"
		   "  or the first bad place (file:line, record) and exits 1. --partial accepts a\n"
		   "  trail whose first segments were removed by retention.\n");
}

int verify_main(int argc, char **argv)
{
	const char *key_path = NULL;
	struct verify_options opt = {0};
	const char **files = calloc((size_t)argc + 1, sizeof(*files));
	size_t nfiles = 0;
	unsigned char *key = NULL;
	int rc = 2;
	if (!files)
		return 2;
	bool options = true;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (options && strcmp(a, "--") == 0) {
			options = false;
		} else if (options && strcmp(a, "--key") == 0 && i + 1 < argc) {
			key_path = argv[++i];
		} else if (options && strcmp(a, "--partial") == 0) {
			opt.partial = true;
		} else if (options && (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)) {
			verify_usage(stdout);
			rc = 0;
			goto out;
		} else if (options && a[0] == '-' && a[1] != '\0') {
			fprintf(stderr, "mcptrail verify: unknown option '%s'\n", a);
			verify_usage(stderr);
			goto out;
		} else {
			files[nfiles++] = a;
		}
	}
	if (nfiles == 0) {
		verify_usage(stderr);
		goto out;
	}
	if (key_path) {
		char err[512];
		if (chain_key_load(key_path, false, &key, &opt.keylen, err, sizeof(err)) != 0) {
			fprintf(stderr, "mcptrail verify: --key: %s\n", err);
			goto out;
		}
		opt.key = key;
	}
	struct verify_result res;
	rc = verify_files(files, nfiles, &opt, &res);
	if (rc == 2)
		fprintf(stderr, "mcptrail verify: cannot verify: %s\n", res.problem);
	else
		verify_print(&res, stdout);
out:
	if (key)
		explicit_bzero(key, opt.keylen);
	free(key);
	free(files);
	return rc;
}
