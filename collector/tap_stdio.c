/* The stdio tap sits between an MCP client and the server process it spawns:
 *
 *   client --stdin--> [pump c2s] --pipe--> server
 *   client <-stdout-- [pump s2c] <--pipe-- server        (server stderr is inherited untouched)
 *
 * Each direction is one thread doing blocking read/write, so traffic moves exactly as it would
 * without the tap and neither direction can stall the other. A copy of every byte goes through
 * the framer into the recorder's bounded queue; the recorder's own thread writes the file. The
 * main thread only waits for signals: it forwards SIGINT/SIGTERM/SIGHUP/SIGQUIT to the server
 * and reaps it. */
#include "collector/tap_stdio.h"

#include "collector/framer.h"
#include "collector/recorder.h"
#include "collector/util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PUMP_BUFFER (256u * 1024u)

struct pump {
	int dir;
	int in_fd, out_fd;
	bool close_out_at_eof;
	struct recorder *recorder;
	struct framer framer;
	pthread_t thread;
	pthread_mutex_t *lock;
	pthread_cond_t *done_cond;
	bool done;
};

static void pump_emit(void *ctx, const char *data, size_t len, size_t total, unsigned flags)
{
	struct pump *p = ctx;
	recorder_frame(p->recorder, p->dir, clock_now_ns(), data, len, total, flags);
}

static void *pump_main(void *arg)
{
	struct pump *p = arg;
	static _Thread_local char buf[PUMP_BUFFER]; /* no allocation can stop the traffic */
	bool out_open = true;
	for (;;) {
		ssize_t n = read(p->in_fd, buf, PUMP_BUFFER);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (n == 0)
			break;
		/* Record, then forward. Recording is a copy into a bounded queue that never blocks,
		 * and doing it first keeps the record causal: a response can never be sequenced
		 * before the request that caused it. */
		framer_feed(&p->framer, buf, (size_t)n, pump_emit, p);
		size_t off = 0;
		while (out_open && off < (size_t)n) {
			ssize_t w = write(p->out_fd, buf + off, (size_t)n - off);
			if (w < 0) {
				if (errno == EINTR)
					continue;
				/* the reader went away; keep recording what arrives */
				out_open = false;
				break;
			}
			off += (size_t)w;
		}
	}
	framer_finish(&p->framer, pump_emit, p);
	if (p->close_out_at_eof)
		close(p->out_fd);
	pthread_mutex_lock(p->lock);
	p->done = true;
	pthread_cond_broadcast(p->done_cond);
	pthread_mutex_unlock(p->lock);
	return NULL;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: mcptrail tap [--out FILE|tcp://HOST:PORT] [--identity ID] [--buffer BYTES] "
		"[--max-frame BYTES] -- CMD [ARGS...]\n"
		"  Starts CMD as an MCP stdio server, passes stdin/stdout through byte for byte "
		"and\n"
		"  records every frame of both directions to FILE (default mcptrail-tap.jsonl,\n"
		"  created mode 0600), or streams them to a collector's TCP input (reconnected; "
		"what is\n"
		"  lost while it is down is reported as a gap). Exits with CMD's status.\n"
		"  --identity ID     who the traffic is attributed to (default: the OS user)\n"
		"  --buffer BYTES    recording queue cap (default 64M); overflow becomes a gap "
		"record\n"
		"  --max-frame BYTES longest frame recorded whole (default 32M); longer ones "
		"are cut\n");
}

int tap_stdio_main(int argc, char **argv)
{
	const char *out_path = getenv("MCPTRAIL_TAP_OUT");
	const char *identity = NULL;
	size_t buffer_cap = 64u << 20, max_frame = 32u << 20;
	int i = 0;
	for (; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if ((strcmp(a, "--out") == 0 || strcmp(a, "-o") == 0) && i + 1 < argc) {
			out_path = argv[++i];
		} else if (strcmp(a, "--identity") == 0 && i + 1 < argc) {
			identity = argv[++i];
		} else if (strcmp(a, "--buffer") == 0 && i + 1 < argc) {
			if (!parse_size(argv[++i], &buffer_cap) || buffer_cap < 4096) {
				fprintf(stderr,
					"mcptrail tap: --buffer: expected a size like 64M, got "
					"'%s'\n",
					argv[i]);
				return 2;
			}
		} else if (strcmp(a, "--max-frame") == 0 && i + 1 < argc) {
			if (!parse_size(argv[++i], &max_frame) || max_frame == 0) {
				fprintf(stderr,
					"mcptrail tap: --max-frame: expected a size like 32M, got "
					"'%s'\n",
					argv[i]);
				return 2;
			}
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "mcptrail tap: unknown option '%s'\n", a);
			usage(stderr);
			return 2;
		}
	}
	if (i >= argc) {
		fprintf(stderr, "mcptrail tap: missing the server command after '--'\n");
		usage(stderr);
		return 2;
	}
	if (!out_path || !*out_path)
		out_path = "mcptrail-tap.jsonl";
	char **cmd = argv + i;
	int cmd_argc = argc - i;

	const char *identity_source = "configured";
	char user_buf[64];
	if (!identity) {
		struct passwd *pw = getpwuid(getuid());
		if (pw && pw->pw_name)
			snprintf(user_buf, sizeof(user_buf), "%s", pw->pw_name);
		else
			snprintf(user_buf, sizeof(user_buf), "uid:%ld", (long)getuid());
		identity = user_buf;
		identity_source = "os_user";
	}
	char host[256] = "";
	if (gethostname(host, sizeof(host) - 1) != 0)
		snprintf(host, sizeof(host), "unknown");

	const char *err = NULL;
	struct recorder *rec = recorder_open(out_path, "stdio", buffer_cap, &err);
	if (!rec) {
		fprintf(stderr, "mcptrail tap: cannot open record file '%s': %s\n", out_path, err);
		return 2;
	}

	int to_child[2], from_child[2], exec_err[2];
	if (pipe2(to_child, O_CLOEXEC) || pipe2(from_child, O_CLOEXEC) ||
	    pipe2(exec_err, O_CLOEXEC)) {
		fprintf(stderr, "mcptrail tap: pipe: %s\n", strerror(errno));
		recorder_free(rec);
		return 2;
	}

	/* Signals are handled by the main thread only (sigwaitinfo); the pumps must not get them.
	 */
	sigset_t handled, old_mask;
	sigemptyset(&handled);
	sigaddset(&handled, SIGINT);
	sigaddset(&handled, SIGTERM);
	sigaddset(&handled, SIGHUP);
	sigaddset(&handled, SIGQUIT);
	sigaddset(&handled, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &handled, &old_mask);
	signal(SIGPIPE, SIG_IGN);

	pid_t child = fork();
	if (child < 0) {
		fprintf(stderr, "mcptrail tap: fork: %s\n", strerror(errno));
		recorder_free(rec);
		return 2;
	}
	if (child == 0) {
		signal(SIGPIPE, SIG_DFL);
		pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
		dup2(to_child[0], STDIN_FILENO);
		dup2(from_child[1], STDOUT_FILENO);
		execvp(cmd[0], cmd);
		int e = errno;
		if (write(exec_err[1], &e, sizeof(e)) < 0) {
			/* nothing more we can do */
		}
		_exit(127);
	}
	close(to_child[0]);
	close(from_child[1]);
	close(exec_err[1]);
	int exec_errno = 0;
	ssize_t got;
	do {
		got = read(exec_err[0], &exec_errno, sizeof(exec_errno));
	} while (got < 0 && errno == EINTR);
	close(exec_err[0]);
	if (got == (ssize_t)sizeof(exec_errno)) {
		fprintf(stderr, "mcptrail tap: cannot run '%s': %s\n", cmd[0],
			strerror(exec_errno));
		waitpid(child, NULL, 0);
		close(to_child[1]);
		close(from_child[0]);
		recorder_free(rec);
		return 127;
	}

	struct recorder_stream_info info = {
		.transport = "stdio",
		.identity = identity,
		.identity_source = identity_source,
		.host = host,
		.tap_pid = (long)getpid(),
		.child_pid = (long)child,
		.argc = cmd_argc,
		.argv = cmd,
	};
	if (recorder_start(rec, &info) != 0)
		fprintf(stderr, "mcptrail tap: cannot start the recorder; traffic still flows\n");

	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t done_cond;
	pthread_condattr_t cattr;
	pthread_condattr_init(&cattr);
	pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
	pthread_cond_init(&done_cond, &cattr);
	struct pump c2s = {.dir = 0,
			   .in_fd = STDIN_FILENO,
			   .out_fd = to_child[1],
			   .close_out_at_eof = true,
			   .recorder = rec,
			   .lock = &lock,
			   .done_cond = &done_cond};
	struct pump s2c = {.dir = 1,
			   .in_fd = from_child[0],
			   .out_fd = STDOUT_FILENO,
			   .close_out_at_eof = false,
			   .recorder = rec,
			   .lock = &lock,
			   .done_cond = &done_cond};
	framer_init(&c2s.framer, max_frame);
	framer_init(&s2c.framer, max_frame);
	pthread_create(&c2s.thread, NULL, pump_main, &c2s);
	pthread_create(&s2c.thread, NULL, pump_main, &s2c);

	int status = 0;
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(&handled, &si);
		if (sig < 0)
			continue;
		if (sig == SIGCHLD) {
			pid_t w = waitpid(child, &status, WNOHANG);
			if (w == child)
				break;
			continue;
		}
		kill(child, sig);
	}

	/* The server is gone. Take what it wrote before it exited (its stdout may be held open by a
	 * grandchild, so wait a bounded time), then stop: the client's stdin may never close. */
	struct timespec deadline;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_nsec += 500 * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&lock);
	while (!s2c.done) {
		if (pthread_cond_timedwait(&done_cond, &lock, &deadline) == ETIMEDOUT)
			break;
	}
	bool s2c_done = s2c.done, c2s_done = c2s.done;
	pthread_mutex_unlock(&lock);
	if (s2c_done)
		pthread_join(s2c.thread, NULL);
	if (c2s_done)
		pthread_join(c2s.thread, NULL);

	int exit_code, term_signal = 0;
	if (WIFEXITED(status)) {
		exit_code = WEXITSTATUS(status);
	} else if (WIFSIGNALED(status)) {
		term_signal = WTERMSIG(status);
		exit_code = 128 + term_signal;
	} else {
		exit_code = 1;
	}
	if (recorder_close(rec, exit_code, term_signal) != 0)
		fprintf(stderr, "mcptrail tap: the record file '%s' is incomplete (write errors)\n",
			out_path);
	/* Pumps still blocked in read() are abandoned: the process exits under them. Their framers
	 * and the recorder are not freed for the same reason. */
	if (s2c_done && c2s_done) {
		recorder_free(rec);
		framer_free(&c2s.framer);
		framer_free(&s2c.framer);
	}
	fflush(stdout);
	if (term_signal) {
		/* die the way the server died, so our parent sees the same status */
		signal(term_signal, SIG_DFL);
		sigset_t one;
		sigemptyset(&one);
		sigaddset(&one, term_signal);
		pthread_sigmask(SIG_UNBLOCK, &one, NULL);
		raise(term_signal);
	}
	_exit(exit_code);
}
