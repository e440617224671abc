/*
 * check_main.h — what each tests/check_<module>.c gives the shared main()
 * in check_main.c.
 */
#ifndef WIDGETD_CHECK_MAIN_H
#define WIDGETD_CHECK_MAIN_H

#include <check.h>

/* The program's suite; main() runs it and exits non-zero on a failure. */
Suite		*check_suite(void);

/*
 * Optional: the one test case that can run under valgrind (a program whose
 * other cases install seccomp filters defines it); undefined means all.
 */
extern const char *check_valgrind_tcase __attribute__((weak));

#endif
