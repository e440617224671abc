/*
 * keeper_test.h — unsaved connector definitions of test mode, in the
 * keeper (keeper only).
 *
 * A worker is never trusted to say what a connector is: for a definition
 * that is in no registry, the parent (which read it from the root-only
 * control socket and validated it) hands it to the keeper itself
 * (MSG_TEST_DEF), naming the one worker that may call it and the tenant
 * it runs for.  The keeper compiles it with its own loader and checks
 * that worker's plan (PLAN_TEST) against that copy, exactly as against a
 * registry's.  A definition serves one call, and is dropped unused after
 * KTEST_TTL seconds.
 */
#ifndef WIDGETD_KEEPER_TEST_H
#define WIDGETD_KEEPER_TEST_H

#include <stddef.h>
#include <stdint.h>

struct ipc_msg;
struct registry;
struct snapshot;

#define KTEST_MAX	16	/* definitions waiting for their call */
#define KTEST_TTL	60	/* seconds one may wait */

struct ktests;

struct ktests	*ktests_new(void);
void		 ktests_free(struct ktests *);
/*
 * MSG_TEST_DEF (id: the test number): compile the definition with the
 * egress policy of generation sn.  0, or -1 with why (for the parent's
 * answer) filled in.
 */
int		 ktests_add(struct ktests *, struct ipc_msg *,
		    const struct snapshot *sn, char *why, size_t whylen);
/*
 * The definition of test id for the worker in slot and that tenant,
 * taken (the caller frees it with registry_free); NULL when there is
 * none (never given, another worker's, used, or expired).
 */
struct registry	*ktests_take(struct ktests *, uint32_t id, uint32_t slot,
		    uint32_t tenant);

#endif
