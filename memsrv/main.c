/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * splitvm-memsrv: the only process that creates guest memory.
 *
 *   splitvm-memsrv --run-dir DIR [--channel NAME] [--fd-channel-fd N]
 *                  [--peer-uid UID] [--verbose]
 *
 * It binds the memory plane's REP socket DIR/NAME (default "memsrv") and a
 * PUB socket DIR/NAME-events, takes the fd channel from an inherited
 * socketpair end N or else listens on DIR/NAME-fd, serves until
 * MemsrvShutdown or SIGTERM, and releases every backend on the way out.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "memsrv.h"

struct args {
	const char *run_dir;
	const char *channel;
	int fd_channel_fd;
	uid_t peer_uid;
	bool verbose;
	bool touch_prealloc;
};

static volatile int stop_requested;

static void on_stop_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void usage(FILE *out)
{
	fprintf(out, "usage: splitvm-memsrv --run-dir DIR [--channel NAME] [--fd-channel-fd N]\n"
	             "                      [--peer-uid UID] [--verbose]\n");
}

/* A decimal in [min, max], the whole string; log_fatalx otherwise. */
static long parse_number(const char *opt, const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		log_fatalx("%s: '%s' is not a number from %ld to %ld", opt, s, min, max);
	return v;
}

static void parse_args(int argc, char **argv, struct args *a)
{
	static const struct option longopts[] = {
		{ "run-dir", required_argument, NULL, 'd' },
		{ "channel", required_argument, NULL, 'c' },
		{ "fd-channel-fd", required_argument, NULL, 'f' },
		{ "peer-uid", required_argument, NULL, 'u' },
		{ "prealloc-touch", no_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*a = (struct args){ .fd_channel_fd = -1, .peer_uid = getuid() };
	while ((c = getopt_long(argc, argv, "v", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			a->run_dir = optarg;
			break;
		case 'c':
			a->channel = optarg;
			break;
		case 'f':
			/* 0-2 are stdio, never the channel. */
			a->fd_channel_fd = (int)parse_number("--fd-channel-fd", optarg, 3, INT_MAX);
			break;
		case 'u':
			a->peer_uid = (uid_t)parse_number("--peer-uid", optarg, 0, INT_MAX);
			break;
		case 't':
			a->touch_prealloc = true;
			break;
		case 'v':
			a->verbose = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (optind != argc) {
		usage(stderr);
		log_fatalx("unexpected argument '%s'", argv[optind]);
	}
	if (!a->run_dir) {
		usage(stderr);
		log_fatalx("--run-dir is required");
	}
}

static void setup_signals(void)
{
	struct sigaction sa = { .sa_handler = on_stop_signal };

	/* A peer that dies mid-send is an error value, not our death. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
}

int main(int argc, char **argv)
{
	struct memsrv_server *srv = NULL;
	struct memsrv_error err = { 0 };
	struct args a;
	int rc;

	log_init("memsrv");
	parse_args(argc, argv, &a);
	log_set_verbose(a.verbose);
	setup_signals();

	struct memsrv_server_opts opts = {
		.run_dir = a.run_dir,
		.channel = a.channel,
		.fd_channel_fd = a.fd_channel_fd,
		.peer_uid = a.peer_uid,
		.prealloc_method = a.touch_prealloc ? MEMSRV_PREALLOC_TOUCH : MEMSRV_PREALLOC_AUTO,
	};
	if (memsrv_server_create(&opts, &srv, &err) < 0)
		log_fatalx("%s", err.text);
	log_info("serving the memory plane in %s", a.run_dir);

	rc = memsrv_server_run(srv, &stop_requested);

	memsrv_server_destroy(srv);
	log_info("released every backend; exiting");
	return rc < 0 ? 1 : 0;
}
