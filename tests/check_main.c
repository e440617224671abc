/*
 * check_main.c — main() for every Check program (see check_main.h).
 */
#include "build.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND	0
#endif

#include "check_main.h"

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	/* A test's peer may go away mid-write: an error, not a death. */
	signal(SIGPIPE, SIG_IGN);
	sr = srunner_create(check_suite());
	if (RUNNING_ON_VALGRIND && &check_valgrind_tcase != NULL &&
	    check_valgrind_tcase != NULL) {
		printf("only the '%s' cases run under valgrind\n",
		    check_valgrind_tcase);
		srunner_run(sr, NULL, check_valgrind_tcase, CK_NORMAL);
	} else
		srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
