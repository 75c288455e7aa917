/* kafka_mock: a librdkafka mock cluster in its own process, for the Kafka sink's integration test.
 *
 * usage: kafka_mock [--brokers N] [--partitions P] TOPIC...
 *
 * Creates a cluster of N (3) brokers listening on 127.0.0.1, creates each TOPIC with P (3)
 * partitions, prints the bootstrap list as the first line on stdout and then serves until killed.
 * Commands on stdin, one per line, inject faults; each is answered on stdout with "ok ..." or
 * "error: ...":
 *   down BROKER_ID             the broker drops its connections and refuses new ones
 *   up BROKER_ID               it accepts connections again
 *   errors N ERRCODE           the next N Produce requests fail with ERRCODE, a number or a name
 *                              such as NOT_ENOUGH_REPLICAS, REQUEST_TIMED_OUT or _TRANSPORT
 *   rtt BROKER_ID MS           the broker answers MS milliseconds late
 *   leader TOPIC PARTITION ID  moves a partition's leadership
 *   topic NAME                 creates one more topic
 * End of input leaves the cluster serving; SIGTERM or SIGINT ends it.
 *
 * Built by the integration test: cc -std=c11 kafka_mock.c $(pkg-config --cflags --libs rdkafka)
 */
#define _GNU_SOURCE
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define PRODUCE_API_KEY 0

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* "NOT_ENOUGH_REPLICAS", "RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS", "_TRANSPORT" or "19". */
static int parse_error_code(const char *s, rd_kafka_resp_err_t *out)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (*s && !*end) {
		*out = (rd_kafka_resp_err_t)v;
		return 0;
	}
	if (strncasecmp(s, "RD_KAFKA_RESP_ERR_", 18) == 0)
		s += 18;
	const struct rd_kafka_err_desc *descs;
	size_t n;
	rd_kafka_get_err_descs(&descs, &n);
	for (size_t i = 0; i < n; i++) {
		if (descs[i].name && strcasecmp(descs[i].name, s) == 0) {
			*out = descs[i].code;
			return 0;
		}
	}
	return -1;
}

static void reply(const char *fmt, const char *cmd, const char *detail)
{
	printf(fmt, cmd, detail);
	fflush(stdout);
}

static void run_command(rd_kafka_mock_cluster_t *mc, char *line, int partitions)
{
	char *save = NULL;
	char *cmd = strtok_r(line, " \t\r\n", &save);
	char *a1 = strtok_r(NULL, " \t\r\n", &save);
	char *a2 = strtok_r(NULL, " \t\r\n", &save);
	char *a3 = strtok_r(NULL, " \t\r\n", &save);
	rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
	if (!cmd)
		return;
	if (strcmp(cmd, "down") == 0 && a1) {
		err = rd_kafka_mock_broker_set_down(mc, atoi(a1));
	} else if (strcmp(cmd, "up") == 0 && a1) {
		err = rd_kafka_mock_broker_set_up(mc, atoi(a1));
	} else if (strcmp(cmd, "rtt") == 0 && a1 && a2) {
		err = rd_kafka_mock_broker_set_rtt(mc, atoi(a1), atoi(a2));
	} else if (strcmp(cmd, "leader") == 0 && a1 && a2 && a3) {
		err = rd_kafka_mock_partition_set_leader(mc, a1, atoi(a2), atoi(a3));
	} else if (strcmp(cmd, "topic") == 0 && a1) {
		err = rd_kafka_mock_topic_create(mc, a1, partitions, 3);
	} else if (strcmp(cmd, "errors") == 0 && a1 && a2) {
		rd_kafka_resp_err_t code;
		long n = atol(a1);
		if (n <= 0 || n > 100000 || parse_error_code(a2, &code) != 0) {
			reply("error: %s: expected 'errors N ERRCODE'%s\n", cmd, "");
			return;
		}
		rd_kafka_resp_err_t *codes = calloc((size_t)n, sizeof(*codes));
		if (!codes) {
			reply("error: %s: %s\n", cmd, "out of memory");
			return;
		}
		for (long i = 0; i < n; i++)
			codes[i] = code;
		rd_kafka_mock_push_request_errors_array(mc, PRODUCE_API_KEY, (size_t)n, codes);
		free(codes);
	} else {
		reply("error: unknown command '%s'%s\n", cmd, "");
		return;
	}
	if (err)
		reply("error: %s: %s\n", cmd, rd_kafka_err2str(err));
	else
		reply("ok %s%s\n", cmd, "");
}

int main(int argc, char **argv)
{
	int brokers = 3, partitions = 3, rc = 1;
	int first_topic = 1;
	char errstr[512];
	rd_kafka_t *rk = NULL;
	rd_kafka_mock_cluster_t *mc = NULL;
	while (first_topic < argc && argv[first_topic][0] == '-') {
		if (strcmp(argv[first_topic], "--brokers") == 0 && first_topic + 1 < argc) {
			brokers = atoi(argv[first_topic + 1]);
		} else if (strcmp(argv[first_topic], "--partitions") == 0 &&
			   first_topic + 1 < argc) {
			partitions = atoi(argv[first_topic + 1]);
		} else {
			fprintf(stderr,
				"usage: kafka_mock [--brokers N] [--partitions P] TOPIC...\n");
			return 2;
		}
		first_topic += 2;
	}
	if (brokers < 1 || partitions < 1) {
		fprintf(stderr, "kafka_mock: --brokers and --partitions must be >= 1\n");
		return 2;
	}
	struct sigaction sa = {0};
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* The cluster needs a client instance for its bookkeeping; this one never connects. */
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	if (rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
		fprintf(stderr, "kafka_mock: %s\n", errstr);
		rd_kafka_conf_destroy(conf);
		goto out;
	}
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (!rk) {
		fprintf(stderr, "kafka_mock: rd_kafka_new: %s\n", errstr);
		rd_kafka_conf_destroy(conf);
		goto out;
	}
	/* The mock brokers listen on 127.0.0.1, ephemeral ports. */
	mc = rd_kafka_mock_cluster_new(rk, brokers);
	if (!mc) {
		fprintf(stderr, "kafka_mock: cannot create the mock cluster\n");
		goto out;
	}
	for (int i = first_topic; i < argc; i++) {
		rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(mc, argv[i], partitions,
								     brokers < 3 ? brokers : 3);
		if (err) {
			fprintf(stderr, "kafka_mock: topic %s: %s\n", argv[i],
				rd_kafka_err2str(err));
			goto out;
		}
	}
	printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
	fflush(stdout);

	char line[512];
	while (!stop_requested && fgets(line, sizeof(line), stdin))
		run_command(mc, line, partitions);
	/* block the signals while testing the flag, so that one arriving in between still ends
	 * sigsuspend() */
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &old);
	while (!stop_requested)
		sigsuspend(&old);
	sigprocmask(SIG_SETMASK, &old, NULL);
	rc = 0;
out:
	if (mc)
		rd_kafka_mock_cluster_destroy(mc);
	if (rk)
		rd_kafka_destroy(rk);
	return rc;
}
