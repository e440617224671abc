/*
 * log.c — syslog or stderr, and forwarding of children's lines.
 */
#include "build.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static int	 log_stderr = 1;
static int	 log_verbose;
static const char *log_name = "widgetd";
static void	(*log_fwd)(int, const char *, void *);
static void	*log_fwd_arg;

void
log_init(int to_stderr, int verbose, int facility)
{
	log_stderr = to_stderr;
	log_verbose = verbose;
	if (!to_stderr)
		openlog("widgetd", LOG_PID | LOG_NDELAY, facility);
	tzset();
}

void
log_procname(const char *name)
{
	log_name = name;
}

void
log_setverbose(int v)
{
	log_verbose = v;
}

int
log_getverbose(void)
{
	return log_verbose;
}

void
log_set_forward(void (*fn)(int, const char *, void *), void *arg)
{
	log_fwd = fn;
	log_fwd_arg = arg;
}

void
log_emit(int prio, const char *line)
{
	if (log_stderr) {
		fprintf(stderr, "%s\n", line);
		fflush(stderr);
	} else
		syslog(prio, "%s", line);
}

void
vlog(int prio, const char *fmt, va_list ap)
{
	char	 msg[2048], line[2100];
	int	 saved = errno;

	if (prio == LOG_DEBUG && log_verbose < 1)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* Strip control characters: a line may carry client-supplied text. */
	for (char *p = msg; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	snprintf(line, sizeof(line), "%s: %s", log_name, msg);
	if (log_fwd != NULL)
		log_fwd(prio, line, log_fwd_arg);
	else
		log_emit(prio, line);
	errno = saved;
}

static void
logit(int prio, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(prio, fmt, ap);
	va_end(ap);
}

/* Append strerror(errno) as the OpenBSD log_warn() does. */
static void
vlog_errno(int prio, const char *fmt, va_list ap)
{
	char	 buf[1800];
	int	 saved = errno;

	if (fmt == NULL) {
		logit(prio, "%s", strerror(saved));
		return;
	}
	vsnprintf(buf, sizeof(buf), fmt, ap);
	logit(prio, "%s: %s", buf, strerror(saved));
}

void
log_warn(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog_errno(LOG_ERR, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOG_ERR, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOG_INFO, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOG_DEBUG, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog_errno(LOG_CRIT, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap);
	va_end(ap);
	exit(1);
}
