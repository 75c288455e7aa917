/* collect: `mcptrail collect -c CONFIG [--check]`, the daemon.
 *
 *   inputs (files, stdin, TCP, UDP) → lines → importer (tap records → observations →
 *   correlator → events) → spool (durable, per-sink acknowledged) → one thread per sink
 *
 * One libevent loop runs the inputs, the metrics endpoint, the timers and the signals; the
 * correlator stays driven by the traffic's own time. A file input's checkpoint (in STATE_DIR)
 * advances once the events of its lines are in the spool; after a restart the file is read again
 * from the start of its oldest open stream, so the correlator's state is rebuilt, and the events
 * already spooled are not spooled again. SIGHUP reopens input files and sinks; SIGTERM and
 * SIGINT stop reading, spool what was read, write the checkpoints, give the sinks
 * shutdown_drain_s to deliver and exit 0 (what the correlator still holds is not emitted: it is
 * rebuilt at the next start). Exit 2: bad configuration or start-up failure. */
#ifndef MCPTRAIL_COLLECT_H
#define MCPTRAIL_COLLECT_H

/* argv: the arguments after "collect" (argv[0] is the first of them). */
int collect_main(int argc, char **argv);

#endif
