/* The capture_dir input of `mcptrail collect`: a directory other programs drop whole captures in
 * (HAR 1.2 files, Envoy HTTP tap traces). Each complete file is converted to tap records by the
 * importer (import_convert_capture, as `mcptrail import` does) and its records are fed like the
 * lines of a tailed file, a budget per poll, pausing with the other inputs.
 *
 * Complete: the writer puts the file in place by rename (names starting with '.' or ending in
 * .tmp, .part or ~ are never read), or simply stops writing: a file is taken once its
 * modification time is settle_ms old, and read again from scratch later if its size or
 * modification time changed while it was being read.
 *
 * Checkpoint (collect.c writes it with the file inputs'): the files whose events are all in the
 * spool, by name with their device, inode, size and modification time (a file replaced under
 * the same name is new), and the file being fed with the number of its records whose events are
 * in the spool. After a restart that file is fed again from its start so that the correlator's
 * state is rebuilt, but the events of those records are not spooled twice. Entries of files that
 * left the directory are forgotten. */
#include "collector/collect_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define POLL_BUDGET (1u << 20) /* bytes of records per turn of the loop */

struct capture_file {
	char *name; /* in the directory */
	uint64_t dev, ino, size;
	int64_t mtime_ns;
};

struct capture_dir {
	json_t *done;	/* name → {dev, ino, size, mtime_ns}: fed to the end */
	json_t *saved;	/* the last snapshot: {"done": {...}, "current": {...} or null} */
	json_t *resume; /* "current" of the last run: records already spooled */
	bool active;	/* a file being fed */
	struct capture_file file;
	char *source;	    /* DIR/NAME: the source its events name */
	struct strbuf recs; /* its tap records */
	size_t off;	    /* the next record */
	uint64_t fed;	    /* records fed */
	uint64_t suppress;  /* records whose events went to the spool in the last run */
	int64_t next_scan_ns;
};

static json_t *file_json(const struct capture_file *f)
{
	return json_pack("{sI sI sI sI}", "dev", (json_int_t)f->dev, "ino", (json_int_t)f->ino,
			 "size", (json_int_t)f->size, "mtime_ns", (json_int_t)f->mtime_ns);
}

static bool same_file(json_t *o, const struct capture_file *f)
{
	json_int_t dev, ino, size, mtime;
	return o &&
	       json_unpack(o, "{sI sI sI sI}", "dev", &dev, "ino", &ino, "size", &size, "mtime_ns",
			   &mtime) == 0 &&
	       (uint64_t)dev == f->dev && (uint64_t)ino == f->ino && (uint64_t)size == f->size &&
	       mtime == f->mtime_ns;
}

static int64_t mtime_ns(const struct stat *sb)
{
	return (int64_t)sb->st_mtim.tv_sec * 1000000000 + sb->st_mtim.tv_nsec;
}

static bool name_wanted(const struct input *in, const char *name)
{
	size_t n = strlen(name);
	static const char *const partial[] = {".tmp", ".part", "~"};
	if (name[0] == '.')
		return false;
	for (size_t i = 0; i < sizeof(partial) / sizeof(partial[0]); i++) {
		size_t k = strlen(partial[i]);
		if (n >= k && strcmp(name + n - k, partial[i]) == 0)
			return false;
	}
	return fnmatch(in->cfg->pattern ? in->cfg->pattern : "*", name, 0) == 0;
}

static void job_clear(struct capture_dir *d)
{
	d->active = false;
	free(d->file.name);
	free(d->source);
	d->file.name = d->source = NULL;
	strbuf_free(&d->recs);
	d->off = 0;
	d->fed = d->suppress = 0;
}

/* The oldest complete file not fed yet (false: none). Forgets done entries of files gone. */
static bool scan(struct input *in, struct capture_file *out)
{
	struct capture_dir *d = in->captures;
	DIR *dir = opendir(in->cfg->path);
	if (!dir) {
		collect_log("input %s: cannot list %s: %s", in->cfg->name, in->cfg->path,
			    strerror(errno));
		return false;
	}
	int64_t now = clock_now_ns();
	int64_t settle = (int64_t)in->cfg->settle_ms * 1000000;
	json_t *seen = json_object();
	bool found = false;
	struct dirent *e;
	while ((e = readdir(dir))) {
		struct stat sb;
		if (!name_wanted(in, e->d_name) || fstatat(dirfd(dir), e->d_name, &sb, 0) != 0 ||
		    !S_ISREG(sb.st_mode))
			continue;
		struct capture_file f = {e->d_name, (uint64_t)sb.st_dev, (uint64_t)sb.st_ino,
					 (uint64_t)sb.st_size, mtime_ns(&sb)};
		json_t *known = json_object_get(d->done, e->d_name);
		if (known && same_file(known, &f)) {
			json_object_set(seen, e->d_name, known);
			continue;
		}
		if (now - f.mtime_ns < settle)
			continue; /* still being written, perhaps */
		if (!found || f.mtime_ns < out->mtime_ns ||
		    (f.mtime_ns == out->mtime_ns && strcmp(f.name, out->name) < 0)) {
			free(found ? out->name : NULL);
			*out = f;
			out->name = strdup(f.name);
			found = out->name != NULL;
		}
	}
	closedir(dir);
	if (json_object_size(seen) != json_object_size(d->done)) {
		json_decref(d->done);
		d->done = seen;
		in->c->positions_moved = true;
	} else {
		json_decref(seen);
	}
	return found;
}

/* Reads and converts f (ownership of f->name passes to the job). false: try again later. */
static bool job_begin(struct input *in, struct capture_file *f)
{
	struct capture_dir *d = in->captures;
	struct collector *c = in->c;
	d->file = *f;
	d->active = true;
	if (asprintf(&d->source, "%s/%s", in->cfg->path, f->name) < 0) {
		d->source = NULL;
		job_clear(d);
		return false;
	}
	struct strbuf raw = STRBUF_INIT;
	bool ok = false;
	int fd = open(d->source, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) != 0) {
		collect_log("input %s: %s: %s (tried again later)", in->cfg->name, d->source,
			    strerror(errno));
		goto out;
	}
	if ((uint64_t)sb.st_size > in->cfg->max_capture) {
		char head[4096];
		ssize_t n = pread(fd, head, sizeof(head), 0);
		import_source_error(c->imp, d->source, "capture larger than max_bytes", head,
				    n > 0 ? (size_t)n : 0, (uint64_t)sb.st_size);
		ok = true; /* done with it: an empty job */
		goto out;
	}
	for (;;) {
		if (!strbuf_reserve(&raw, 1u << 20))
			goto out;
		ssize_t n = read(fd, raw.data + raw.len, raw.cap - raw.len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			collect_log("input %s: %s: read error: %s (tried again later)",
				    in->cfg->name, d->source, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		raw.len += (size_t)n;
		if (raw.len > in->cfg->max_capture)
			goto out; /* grew while being read: later */
	}
	struct stat after;
	if (fstat(fd, &after) != 0 || (uint64_t)after.st_size != raw.len ||
	    mtime_ns(&after) != d->file.mtime_ns || (uint64_t)after.st_ino != d->file.ino)
		goto out; /* changed since the scan: not complete after all */
	json_t *r = d->resume;
	if (r && json_is_string(json_object_get(r, "name")) &&
	    strcmp(json_string_value(json_object_get(r, "name")), f->name) == 0 &&
	    same_file(r, &d->file))
		d->suppress = (uint64_t)json_integer_value(json_object_get(r, "records"));
	/* the conversion's own ingest.error events went out with the first records */
	c->suppress = d->suppress > 0;
	import_convert_capture(c->imp, d->source,
			       in->cfg->capture_format == COLLECT_CAPTURE_HAR	  ? "har"
			       : in->cfg->capture_format == COLLECT_CAPTURE_ENVOY ? "envoy"
										  : "auto",
			       raw.data ? raw.data : "", raw.len, &d->recs);
	c->suppress = false;
	in->bytes += raw.len;
	ok = true;
out:
	if (fd >= 0)
		close(fd);
	strbuf_free(&raw);
	if (!ok)
		job_clear(d);
	c->positions_moved = true;
	return ok;
}

/* Every record fed: the summary, and the file counts as done (spooled with the next commit). */
static void job_end(struct input *in)
{
	struct capture_dir *d = in->captures;
	struct collector *c = in->c;
	import_source_end(c->imp, d->source, true);
	json_object_set_new(d->done, d->file.name, file_json(&d->file));
	if (d->resume)
		json_decref(d->resume);
	d->resume = NULL;
	in->rotations_seen++;
	job_clear(d);
	c->positions_moved = true;
}

/* Feeds records of the file being fed, up to the budget. */
static void job_feed(struct input *in)
{
	struct capture_dir *d = in->captures;
	struct collector *c = in->c;
	size_t budget = POLL_BUDGET;
	const char *data = d->recs.data;
	while (d->off < d->recs.len && budget > 0 && !c->paused) {
		const char *line = data + d->off;
		const char *nl = memchr(line, '\n', d->recs.len - d->off);
		size_t len = nl ? (size_t)(nl - line) : d->recs.len - d->off;
		collect_feed(in, d->source, line, len, d->fed < d->suppress);
		d->fed++;
		d->off += len + 1;
		budget -= len + 1 < budget ? len + 1 : budget;
		c->positions_moved = true;
		if (!collect_line_done(c))
			break;
	}
	if (d->off >= d->recs.len && !c->paused)
		job_end(in);
	collect_commit(c);
}

int capture_dir_start(struct input *in, char *err, size_t errlen)
{
	struct capture_dir *d = calloc(1, sizeof(*d));
	if (!d || !(d->done = json_object())) {
		free(d);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	in->captures = d;
	json_t *st = in->capture_state;
	json_t *done = json_object_get(st, "done");
	if (json_is_object(done)) {
		json_decref(d->done);
		d->done = json_deep_copy(done);
	}
	json_t *cur = json_object_get(st, "current");
	if (json_is_object(cur))
		d->resume = json_incref(cur);
	d->saved = st ? json_incref(st) : NULL;
	return 0;
}

bool capture_dir_poll(struct input *in)
{
	struct capture_dir *d = in->captures;
	struct collector *c = in->c;
	if (!d->active) {
		int64_t now = clock_now_ns();
		if (now < d->next_scan_ns)
			return false;
		d->next_scan_ns = now + (int64_t)in->cfg->poll_ms * 1000000;
		struct capture_file f = {0};
		if (!scan(in, &f))
			return false;
		if (!job_begin(in, &f)) /* (it took f.name) */
			return false;
	}
	job_feed(in);
	if (!d->active)
		d->next_scan_ns = 0; /* the next file at once */
	return !c->paused;
}

void capture_dir_snapshot(struct input *in)
{
	struct capture_dir *d = in->captures;
	if (!d)
		return;
	json_t *cur = json_null();
	if (d->active)
		cur = json_pack("{ss sI sI sI sI sI}", "name", d->file.name, "dev",
				(json_int_t)d->file.dev, "ino", (json_int_t)d->file.ino, "size",
				(json_int_t)d->file.size, "mtime_ns", (json_int_t)d->file.mtime_ns,
				"records",
				(json_int_t)(d->fed > d->suppress ? d->fed : d->suppress));
	else if (d->resume)
		cur = json_incref(d->resume); /* not back at that file yet */
	json_t *snap = json_pack("{sO so}", "done", d->done, "current", cur);
	if (!snap)
		return;
	json_t *copy = json_deep_copy(snap); /* (done goes on changing) */
	json_decref(snap);
	if (!copy)
		return;
	json_decref(d->saved);
	d->saved = copy;
}

json_t *capture_dir_checkpoint(const struct input *in)
{
	return in->captures ? in->captures->saved : in->capture_state;
}

void capture_dir_free(struct input *in)
{
	struct capture_dir *d = in->captures;
	json_decref(in->capture_state);
	in->capture_state = NULL;
	if (!d)
		return;
	job_clear(d);
	json_decref(d->done);
	json_decref(d->saved);
	json_decref(d->resume);
	free(d);
	in->captures = NULL;
}
