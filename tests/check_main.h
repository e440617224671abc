/*
 * check_main.h — the one main() of every Check program.
 *
 * Each tests/check_<module>.c defines check_suite() and links
 * tests/check_main.c, which runs the suite (CK_RUN_SUITE, CK_RUN_CASE and
 * CK_FORK are honoured as Check documents them) and exits 0 when nothing
 * failed.  A program whose cases cannot run under valgrind names the
 * test case that can in check_valgrind_tcase (NULL: every case runs).
 */
#ifndef WIDGETD_CHECK_MAIN_H
#define WIDGETD_CHECK_MAIN_H

#include <check.h>

Suite		*check_suite(void);
/* Defined by the program only when some cases cannot run under valgrind. */
extern const char *check_valgrind_tcase __attribute__((weak));

#endif
