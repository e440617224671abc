/*
 * log.c — syslog or stderr, and forwarding of children's lines.
 */
#include "build.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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

int
log_child_prio(int prio)
{
	/* A child may not page anyone: nothing above an error. */
	if (prio < LOG_ERR)
		return LOG_ERR;
	if (prio > LOG_DEBUG)
		return LOG_DEBUG;
	return prio;
}

/* Does s start like a process's log prefix: "keeper 0:", "parent:"? */
static int
log_looks_like_origin(const char *s)
{
	static const char *const roles[] = {
		"parent", "worker", "keeper", "publisher", "widgetd"
	};
	size_t	 i, n;

	while (*s == ' ' || *s == '"')
		s++;
	for (i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
		n = strlen(roles[i]);
		if (strncasecmp(s, roles[i], n) != 0)
			continue;
		s += n;
		if (*s == ' ')
			s++;
		while (*s >= '0' && *s <= '9')
			s++;
		/* syslog's "widgetd[123]:" */
		if (*s == '[') {
			while (*s != '\0' && *s != ']')
				s++;
			if (*s == ']')
				s++;
		}
		return *s == ':';
	}
	return 0;
}

size_t
log_child_line(char *buf, size_t size, const char *origin, const char *line)
{
	const unsigned char	*p = (const unsigned char *)line;
	size_t			 o, start, cap;
	int			 quote, n;

	/* Callers pass LOG_CHILD_LINE; anything this small gets nothing. */
	if (size < 32) {
		if (size > 0)
			buf[0] = '\0';
		return 0;
	}
	n = snprintf(buf, size, "%s: ", origin);
	o = n < 0 ? 0 : (size_t)n >= size ? size - 1 : (size_t)n;
	start = o;
	/* Room for the content, a closing quote, the cut mark and NUL. */
	cap = size - 1 - 16;
	if (cap > start + LOG_CHILD_MAX)
		cap = start + LOG_CHILD_MAX;
	/* An origin that leaves no room (none does): the origin alone. */
	if (start + 2 > cap)
		return o;
	/* Quotes count in the cap: the closing one's place is kept. */
	if ((quote = log_looks_like_origin(line)) != 0) {
		buf[o++] = '"';
		cap--;
	}
	for (; *p != '\0'; p++) {
		/*
		 * C0 controls and DEL (newlines, terminal escapes), and the
		 * C1 controls as UTF-8 encodes them (U+0080-U+009F, which
		 * some terminals take as escapes too), are shown as \xNN.
		 */
		if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			if (o + 8 > cap)
				break;
			o += (size_t)snprintf(buf + o, size - o, "\\xc2\\x%02x",
			    p[1]);
			p++;
			continue;
		}
		if (*p < 0x20 || *p == 0x7f) {
			if (o + 4 > cap)
				break;
			o += (size_t)snprintf(buf + o, size - o, "\\x%02x", *p);
			continue;
		}
		if (quote && *p == '"') {
			if (o + 2 > cap)
				break;
			buf[o++] = '\\';
			buf[o++] = '"';
			continue;
		}
		if (o + 1 > cap)
			break;
		buf[o++] = (char)*p;
	}
	if (quote)
		buf[o++] = '"';
	if (*p != '\0')
		o += (size_t)snprintf(buf + o, size - o, " [cut]");
	buf[o] = '\0';
	return o;
}

void
log_rate_init(struct log_rate *lr, double rate, double burst)
{
	memset(lr, 0, sizeof(*lr));
	lr->lr_rate = rate;
	lr->lr_burst = burst;
	lr->lr_tokens = burst;
}

int
log_rate_take(struct log_rate *lr, double now)
{
	if (lr->lr_last != 0 && now > lr->lr_last) {
		lr->lr_tokens += (now - lr->lr_last) * lr->lr_rate;
		if (lr->lr_tokens > lr->lr_burst)
			lr->lr_tokens = lr->lr_burst;
	}
	/* A clock that went backwards refills nothing. */
	if (lr->lr_last == 0 || now > lr->lr_last)
		lr->lr_last = now;
	if (lr->lr_tokens < 1) {
		lr->lr_dropped++;
		return 0;
	}
	lr->lr_tokens -= 1;
	return 1;
}

double
log_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
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
	/*
	 * A forwarded line goes without a name: the parent puts the one it
	 * knows the child by in front (log_child_line).
	 */
	if (log_fwd != NULL)
		log_fwd(prio, msg, log_fwd_arg);
	else {
		snprintf(line, sizeof(line), "%s: %s", log_name, msg);
		log_emit(prio, line);
	}
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
