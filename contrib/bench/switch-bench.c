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
 */
#include "build.h"

#include <sys/socket.h>
#include <sys/wait.h>

#include <err.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static int	sb_cpu;
static long	sb_rounds = 100000;

static void
sb_pin(void)
{
	cpu_set_t	 set;

	CPU_ZERO(&set);
	CPU_SET(sb_cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) == -1)
		err(1, "sched_setaffinity %d", sb_cpu);
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

int
main(int argc, char **argv)
{
	double	 p, t, best_p = -1, best_t = -1;
	int	 ch, r;

	while ((ch = getopt(argc, argv, "c:n:")) != -1) {
		switch (ch) {
		case 'c':
			sb_cpu = atoi(optarg);
			break;
		case 'n':
			if ((sb_rounds = atol(optarg)) <= 0)
				errx(2, "-n: a positive count");
			break;
		default:
			fprintf(stderr, "usage: switch-bench [-c cpu] "
			    "[-n rounds]\n");
			return 2;
		}
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
