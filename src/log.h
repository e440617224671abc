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

void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	vlog(int, const char *, va_list) __attribute__((format(printf, 2, 0)));
void	fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
