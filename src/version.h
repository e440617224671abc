/*
 * version.h — what this build is: the package version and the commit it
 * was built from (commit.h, written at build time; see Makefile.am).
 */
#ifndef WIDGETD_VERSION_H
#define WIDGETD_VERSION_H

/* The commit, as git names it ("be90bce32741", "...-dirty"), or "". */
const char	*version_commit(void);
/* "0.1.0 (commit be90bce32741)", or "0.1.0" when the commit is unknown. */
const char	*version_string(void);

#endif
