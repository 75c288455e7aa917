#include "collector/tail.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define READ_MAX (1u << 20)
#define SIBLINGS_MAX 100000

struct tail {
	char *path;
	size_t max_line;
	int fd;
	uint64_t dev, ino;
	uint64_t read_off; /* file offset of the next byte read */
	struct line_reader lr;
	uint64_t generation;
	/* how the first poll starts */
	bool first_open_done, has_start_pos, start_at_end;
	struct tail_pos start_pos;
	bool draining; /* the path names another file (or none, deleted): read this one to its end
			*/
	bool reopen;
	bool missing_noted;
	struct tail_pos last_pos; /* while no file is open */
	struct tail_stats st;
};

struct tail *tail_new(const char *path, size_t max_line)
{
	struct tail *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->path = strdup(path);
	if (!t->path) {
		free(t);
		return NULL;
	}
	t->fd = -1;
	t->max_line = max_line;
	line_reader_init(&t->lr, max_line, 0, 0);
	return t;
}

void tail_free(struct tail *t)
{
	if (!t)
		return;
	if (t->fd >= 0)
		close(t->fd);
	line_reader_free(&t->lr);
	free(t->path);
	free(t);
}

void tail_start(struct tail *t, const struct tail_pos *pos, bool at_end)
{
	t->has_start_pos = pos != NULL && (pos->dev || pos->ino);
	if (t->has_start_pos)
		t->start_pos = *pos;
	t->start_at_end = at_end;
}

void tail_reopen(struct tail *t)
{
	t->reopen = true;
	t->missing_noted = false;
}

uint64_t tail_generation(const struct tail *t)
{
	return t->generation;
}

void tail_stats(const struct tail *t, struct tail_stats *out)
{
	*out = t->st;
	out->open = t->fd >= 0;
}

void tail_position(const struct tail *t, struct tail_pos *out)
{
	if (t->fd < 0) {
		*out = t->last_pos;
		return;
	}
	out->dev = t->dev;
	out->ino = t->ino;
	line_reader_position(&t->lr, &out->offset, &out->line);
}

static void notice(const struct tail_callbacks *cb, void *ctx, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void notice(const struct tail_callbacks *cb, void *ctx, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (cb->notice)
		cb->notice(ctx, msg);
}

/* A file in the path's directory with this identity (the checkpointed file, renamed by a
 * rotation). Returns its name (malloc'd) or NULL. */
static char *find_sibling(const char *path, uint64_t dev, uint64_t ino)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
	if (!dir)
		return NULL;
	char *found = NULL;
	DIR *d = opendir(dir);
	if (!d) {
		free(dir);
		return NULL;
	}
	struct dirent *de;
	for (unsigned n = 0; n < SIBLINGS_MAX && (de = readdir(d)) != NULL; n++) {
		struct stat sb;
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(dirfd(d), de->d_name, &sb, 0) != 0 || !S_ISREG(sb.st_mode))
			continue;
		if ((uint64_t)sb.st_dev == dev && (uint64_t)sb.st_ino == ino) {
			if (asprintf(&found, "%s/%s", dir, de->d_name) < 0)
				found = NULL;
			break;
		}
	}
	closedir(d);
	free(dir);
	return found;
}

/* Opens name and starts reading it at offset (line lines before it). expect_ino: the file must
 * have this identity (0: any). Returns 0, -1 when it cannot be opened (errno set). */
static int open_at(struct tail *t, const char *name, uint64_t expect_dev, uint64_t expect_ino,
		   uint64_t offset, uint64_t line, bool at_end, const struct tail_callbacks *cb,
		   void *ctx)
{
	int fd = open(name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct stat sb;
	if (fstat(fd, &sb) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	if (expect_ino &&
	    ((uint64_t)sb.st_dev != expect_dev || (uint64_t)sb.st_ino != expect_ino)) {
		close(fd);
		errno = ESTALE; /* renamed again between the lookup and the open */
		return -1;
	}
	if (at_end) {
		offset = (uint64_t)sb.st_size;
		line = 0;
	} else if ((uint64_t)sb.st_size < offset) {
		notice(cb, ctx,
		       "%s: shorter (%lld bytes) than the checkpoint (%llu): truncated, reading it "
		       "from the start",
		       name, (long long)sb.st_size, (unsigned long long)offset);
		t->st.truncations++;
		offset = 0;
		line = 0;
	}
	if (offset && lseek(fd, (off_t)offset, SEEK_SET) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	t->fd = fd;
	t->dev = (uint64_t)sb.st_dev;
	t->ino = (uint64_t)sb.st_ino;
	t->read_off = offset;
	t->draining = false;
	line_reader_free(&t->lr);
	line_reader_init(&t->lr, t->max_line, offset, line);
	t->generation++;
	t->missing_noted = false;
	if (cb->file_begin) {
		struct tail_pos at = {t->dev, t->ino, offset, line};
		cb->file_begin(ctx, &at, t->generation);
	}
	return 0;
}

/* Opens the file to read next. false when there is none now. */
static bool open_next(struct tail *t, const struct tail_callbacks *cb, void *ctx)
{
	if (!t->first_open_done && t->has_start_pos) {
		const struct tail_pos *p = &t->start_pos;
		struct stat sb;
		bool at_path = stat(t->path, &sb) == 0 && (uint64_t)sb.st_dev == p->dev &&
			       (uint64_t)sb.st_ino == p->ino;
		char *name = at_path ? NULL : find_sibling(t->path, p->dev, p->ino);
		if (at_path || name) {
			int rc = open_at(t, name ? name : t->path, p->dev, p->ino, p->offset,
					 p->line, false, cb, ctx);
			if (rc == 0 && name)
				t->draining =
					true; /* rotated while we were away: finish it first */
			free(name);
			if (rc == 0) {
				t->first_open_done = true;
				return true;
			}
		}
		t->st.lost_files++;
		notice(cb, ctx,
		       "%s: the checkpointed file (inode %llu, offset %llu) is gone: rotated away "
		       "or deleted while mcptrail was not running; reading %s from the start",
		       t->path, (unsigned long long)p->ino, (unsigned long long)p->offset, t->path);
		t->first_open_done = true;
	}
	bool at_end = !t->first_open_done && t->start_at_end;
	if (open_at(t, t->path, 0, 0, 0, 0, at_end, cb, ctx) != 0) {
		if (!t->missing_noted) {
			notice(cb, ctx, "%s: %s (waiting for it)", t->path, strerror(errno));
			t->missing_noted = true;
			t->st.open_errors++;
		}
		return false;
	}
	t->first_open_done = true;
	return true;
}

/* The current file is done: its last line (even without '\n') goes out, then file_end. */
static void finish_file(struct tail *t, const struct tail_callbacks *cb, void *ctx)
{
	line_reader_finish(&t->lr, &cb->lines, ctx);
	tail_position(t, &t->last_pos);
	if (cb->file_end)
		cb->file_end(ctx, &t->last_pos, t->generation);
	close(t->fd);
	t->fd = -1;
	t->draining = false;
	line_reader_free(&t->lr);
	line_reader_init(&t->lr, t->max_line, 0, 0);
}

enum path_state { PATH_SAME, PATH_OTHER, PATH_GONE };

static enum path_state check_path(struct tail *t)
{
	struct stat sb;
	if (stat(t->path, &sb) != 0)
		return errno == ENOENT ? PATH_GONE : PATH_SAME;
	if ((uint64_t)sb.st_dev == t->dev && (uint64_t)sb.st_ino == t->ino)
		return PATH_SAME;
	return PATH_OTHER;
}

enum tail_status tail_poll(struct tail *t, size_t max_bytes, const struct tail_callbacks *cb,
			   void *ctx)
{
	size_t budget = max_bytes;
	for (;;) {
		if (t->fd < 0 && !open_next(t, cb, ctx))
			return TAIL_IDLE;
		if (!line_reader_drain(&t->lr, &cb->lines, ctx))
			return TAIL_STOPPED;
		if (budget == 0)
			return TAIL_MORE;
		size_t want = budget < READ_MAX ? budget : READ_MAX;
		size_t room;
		char *dst = line_reader_space(&t->lr, want, &room);
		if (!dst)
			return TAIL_MORE; /* out of memory: try again later */
		ssize_t n = read(t->fd, dst, want < room ? want : room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			notice(cb, ctx, "%s: read error: %s", t->path, strerror(errno));
			return TAIL_IDLE;
		}
		if (n > 0) {
			line_reader_commit(&t->lr, (size_t)n);
			t->read_off += (uint64_t)n;
			t->st.bytes += (uint64_t)n;
			budget -= (size_t)n;
			continue;
		}
		/* at the end of the file */
		if (t->draining) {
			finish_file(t, cb, ctx);
			continue;
		}
		struct stat sb;
		enum path_state ps = check_path(t);
		t->reopen = false;
		if (ps == PATH_OTHER) {
			/* rotated: read what the writer may still have appended, then switch */
			t->st.rotations++;
			t->draining = true;
			continue;
		}
		if (fstat(t->fd, &sb) == 0) {
			if (ps == PATH_GONE && sb.st_nlink == 0) {
				t->draining = true; /* deleted: nobody can append to it any more */
				continue;
			}
			if ((uint64_t)sb.st_size < t->read_off) {
				notice(cb, ctx,
				       "%s: truncated (copytruncate?): reading it again from "
				       "the start",
				       t->path);
				t->st.truncations++;
				/* what was read of a cut line went with the old content */
				tail_position(t, &t->last_pos);
				if (cb->file_end)
					cb->file_end(ctx, &t->last_pos, t->generation);
				close(t->fd);
				t->fd = -1;
				line_reader_free(&t->lr);
				line_reader_init(&t->lr, t->max_line, 0, 0);
				continue;
			}
		}
		return TAIL_IDLE;
	}
}
