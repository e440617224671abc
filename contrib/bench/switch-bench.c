/*
 * switch-bench — what one hand-over between two processes costs on this
 * CPU, against the same between two threads.  A benchmark, not a test:
 * contrib/bench/run prints its line beside the null system call.
 *
 *	switch-bench [-c cpu] [-n rounds]
 *
 * Two tasks pinned to one CPU pass a byte back and forth over a Unix
 * socket pair, as a worker and its keeper pass a call and its answer: each
 * round trip is two writes, two reads and two switches.  Between processes
 * each switch also changes the address space, which between threads it
 * does not; the difference of the two round trips, halved, is what an
 * address-space switch adds (a hypercall and a cold TLB in some guests,
 * a fraction of a microsecond on bare metal).  Times are wall time of the
 * pinned CPU, which the two tasks keep busy; best of three.
 *
 *	switch-bench -c cpu -t client-cpu [-n rounds]
 *
 * The kernel's part of a proxied request instead: a client on client-cpu
 * asks 100 bytes over loopback TCP of a server on cpu, which answers 300,
 * as wrk and the system under test do.  Printed: the round trip and the
 * server's CPU time (user and system) per round trip, best of three.  The
 * server's CPU is what loopback, the wake-ups across CPUs and the system
 * calls cost the system under test on this host now: contrib/bench/run
 * times it before and after its runs, so a window in which the host's
 * kernel costs moved shows as such.
 */
#include "build.h"

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <err.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int	sb_cpu;
static long	sb_rounds = 100000;

static void
sb_pin_to(int cpu)
{
	cpu_set_t	 set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) == -1)
		err(1, "sched_setaffinity %d", cpu);
}

static void
sb_pin(void)
{
	sb_pin_to(sb_cpu);
}

static double
sb_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* The other end: answer every byte with one. */
static void *
sb_echo(void *arg)
{
	int	 fd = *(int *)arg;
	char	 c;
	long	 i;

	sb_pin();
	for (i = 0; i < sb_rounds; i++)
		if (read(fd, &c, 1) != 1 || write(fd, &c, 1) != 1)
			break;
	return NULL;
}

/* Microseconds per round trip, with the echo in a process or a thread. */
static double
sb_round_trip(int threaded)
{
	pthread_t	 th;
	pid_t		 pid = -1;
	double		 t0, t1;
	long		 i;
	int		 sv[2], st;
	char		 c = 'x';

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		err(1, "socketpair");
	if (threaded) {
		if (pthread_create(&th, NULL, sb_echo, &sv[1]) != 0)
			errx(1, "pthread_create");
	} else if ((pid = fork()) == -1)
		err(1, "fork");
	else if (pid == 0) {
		close(sv[0]);
		sb_echo(&sv[1]);
		_exit(0);
	}
	t0 = sb_now();
	for (i = 0; i < sb_rounds; i++)
		if (write(sv[0], &c, 1) != 1 || read(sv[0], &c, 1) != 1)
			err(1, "round trip %ld", i);
	t1 = sb_now();
	if (threaded)
		pthread_join(th, NULL);
	else if (waitpid(pid, &st, 0) == -1)
		err(1, "waitpid");
	close(sv[0]);
	close(sv[1]);
	return (t1 - t0) / sb_rounds;
}

#define SB_ASK		100
#define SB_ANSWER	300

/* Read exactly n bytes; -1 on end of file or error. */
static int
sb_read_all(int fd, char *p, size_t n)
{
	ssize_t	 r;

	while (n > 0) {
		if ((r = read(fd, p, n)) <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/*
 * One loopback TCP measurement: microseconds per round trip in *rt and
 * the server's CPU time per round trip in *cpu.
 */
static void
sb_tcp(int client_cpu, double *rt, double *cpu)
{
	struct sockaddr_in	 sin;
	struct rusage		 ru;
	socklen_t		 sl = sizeof(sin);
	char			 ask[SB_ASK], answer[SB_ANSWER];
	double			 t0, t1;
	pid_t			 pid;
	long			 i;
	int			 l, fd, one = 1, st;

	memset(ask, 'a', sizeof(ask));
	memset(answer, 'b', sizeof(answer));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((l = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    bind(l, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(l, 1) == -1 ||
	    getsockname(l, (struct sockaddr *)&sin, &sl) == -1)
		err(1, "listen on loopback");
	if ((pid = fork()) == -1)
		err(1, "fork");
	if (pid == 0) {
		sb_pin();
		if ((fd = accept(l, NULL, NULL)) == -1)
			_exit(1);
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		while (sb_read_all(fd, ask, sizeof(ask)) == 0)
			if (write(fd, answer, sizeof(answer)) !=
			    (ssize_t)sizeof(answer))
				_exit(1);
		_exit(0);
	}
	close(l);
	sb_pin_to(client_cpu);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		err(1, "connect to loopback");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	t0 = sb_now();
	for (i = 0; i < sb_rounds; i++)
		if (write(fd, ask, sizeof(ask)) != (ssize_t)sizeof(ask) ||
		    sb_read_all(fd, answer, sizeof(answer)) == -1)
			err(1, "round trip %ld", i);
	t1 = sb_now();
	close(fd);
	if (wait4(pid, &st, 0, &ru) == -1)
		err(1, "wait4");
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		errx(1, "the server failed");
	*rt = (t1 - t0) / sb_rounds;
	*cpu = (ru.ru_utime.tv_sec * 1e6 + ru.ru_utime.tv_usec +
	    ru.ru_stime.tv_sec * 1e6 + ru.ru_stime.tv_usec) / sb_rounds;
}

int
main(int argc, char **argv)
{
	double	 p, t, best_p = -1, best_t = -1;
	int	 ch, r, client_cpu = -1;

	while ((ch = getopt(argc, argv, "c:n:t:")) != -1) {
		switch (ch) {
		case 'c':
			sb_cpu = atoi(optarg);
			break;
		case 't':
			client_cpu = atoi(optarg);
			break;
		case 'n':
			if ((sb_rounds = atol(optarg)) <= 0)
				errx(2, "-n: a positive count");
			break;
		default:
			fprintf(stderr, "usage: switch-bench [-c cpu] "
			    "[-t client-cpu] [-n rounds]\n");
			return 2;
		}
	}
	if (client_cpu >= 0) {
		for (r = 0; r < 3; r++) {
			sb_tcp(client_cpu, &p, &t);
			if (best_p < 0 || t < best_t) {
				best_p = p;
				best_t = t;
			}
		}
		printf("tcp_round_trip_usec=%.2f tcp_server_cpu_usec=%.2f\n",
		    best_p, best_t);
		return 0;
	}
	sb_pin();
	for (r = 0; r < 3; r++) {
		p = sb_round_trip(0);
		t = sb_round_trip(1);
		if (best_p < 0 || p < best_p)
			best_p = p;
		if (best_t < 0 || t < best_t)
			best_t = t;
	}
	printf("process_round_trip_usec=%.2f thread_round_trip_usec=%.2f "
	    "address_space_switch_usec=%.2f\n", best_p, best_t,
	    best_p > best_t ? (best_p - best_t) / 2 : 0.0);
	return 0;
}
