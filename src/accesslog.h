/*
 * accesslog.h — the access log's two forms, and its file (parent only).
 *
 * One line per browser request (MSG_ACCESS), as text (widgetd.conf(5),
 * LOGGING) or as one JSON object, written to the system log or to
 * log.access_file, which SIGUSR1 reopens (logrotate's postrotate).
 * Fields come from a worker: every control character, quote and
 * backslash is replaced or escaped, so a line is always one line.
 */
#ifndef WIDGETD_ACCESSLOG_H
#define WIDGETD_ACCESSLOG_H

#include <stddef.h>

struct ipc_access;

/* The record as text or JSON (format: enum conf_access_format). */
void		 accesslog_format(const struct ipc_access *, int slot,
		    int format, char *buf, size_t len);

struct accesslog;
/* Open (create 0640, append) path; NULL with err filled. */
struct accesslog *accesslog_open(const char *path, char *err, size_t errlen);
/* Open path anew (a rotated file); the old one stays on failure (-1). */
int		 accesslog_reopen(struct accesslog *, char *err, size_t errlen);
void		 accesslog_close(struct accesslog *);
/* One line, with an ISO 8601 time in front. */
void		 accesslog_write(struct accesslog *, const char *line);
const char	*accesslog_path(const struct accesslog *);

#endif
