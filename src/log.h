/*
 * log.h — logging in the OpenBSD shape.
 *
 * The parent logs to syslog (or stderr with -d).  Children call the same
 * functions; once log_set_forward() has been given the channel to the
 * parent, their lines travel there as MSG_LOG frames, because a chrooted,
 * sandboxed child cannot open /dev/log itself.
 */
#ifndef WIDGETD_LOG_H
#define WIDGETD_LOG_H

#include <stdarg.h>

void	log_init(int to_stderr, int verbose, int facility);
void	log_procname(const char *);
void	log_setverbose(int);
int	log_getverbose(void);
/* Children: hand every line to fn (e.g. an IPC write) instead of syslog. */
void	log_set_forward(void (*fn)(int prio, const char *line, void *arg), void *arg);
/* Parent: emit a line received from a child, already formatted. */
void	log_emit(int prio, const char *line);

/*
 * A child's line as the parent writes it: "origin: " (the name the parent
 * knows the child by, never one the child chose), then what the child
 * sent with control characters and C1 codes shown as \xNN, cut to
 * LOG_CHILD_MAX bytes.  Content that starts like a process's prefix
 * ("keeper 0:", "parent:") is put in double quotes: it can never be read
 * as where the line came from.  Returns the length written (buf is always
 * NUL-terminated; size must hold LOG_CHILD_LINE).
 */
#define LOG_CHILD_MAX	1024	/* bytes of a child's line, escaped */
#define LOG_CHILD_LINE	(LOG_CHILD_MAX + 64)
size_t	log_child_line(char *buf, size_t size, const char *origin,
	    const char *line);
/* The priority a child may log at: LOG_ERR (never above) to LOG_DEBUG. */
int	log_child_prio(int prio);

/*
 * A token bucket per child: lr_rate lines a second on average, bursts of
 * lr_burst.  log_rate_take says whether one more line may go out now
 * (1) or is dropped (0, counted in lr_dropped for the next report).
 */
struct log_rate {
	double		 lr_rate;
	double		 lr_burst;
	double		 lr_tokens;
	double		 lr_last;	/* seconds, monotonic; 0: never */
	unsigned long long lr_dropped;	/* since the last report */
};
void	log_rate_init(struct log_rate *, double rate, double burst);
int	log_rate_take(struct log_rate *, double now);
/* Seconds on CLOCK_MONOTONIC, for log_rate_take. */
double	log_now(void);

void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	vlog(int, const char *, va_list) __attribute__((format(printf, 2, 0)));
void	fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
