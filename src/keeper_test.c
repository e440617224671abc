/*
 * keeper_test.c — test mode's unsaved definitions in the keeper (see
 * keeper_test.h).
 */
#include "build.h"

#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "connector.h"
#include "ipc.h"
#include "keeper_test.h"
#include "snapshot.h"
#include "testmsg.h"

struct ktest {
	TAILQ_ENTRY(ktest)	 kt_entry;
	uint32_t		 kt_id;
	uint32_t		 kt_slot;
	uint32_t		 kt_tenant;
	struct registry		*kt_reg;
	time_t			 kt_expires;	/* CLOCK_MONOTONIC seconds */
};

struct ktests {
	TAILQ_HEAD(, ktest)	 kts_list;
	int			 kts_n;
};

static time_t
ktest_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

struct ktests *
ktests_new(void)
{
	struct ktests	*kts;

	if ((kts = calloc(1, sizeof(*kts))) != NULL)
		TAILQ_INIT(&kts->kts_list);
	return kts;
}

static void
ktest_drop(struct ktests *kts, struct ktest *kt)
{
	TAILQ_REMOVE(&kts->kts_list, kt, kt_entry);
	kts->kts_n--;
	registry_free(kt->kt_reg);
	free(kt);
}

void
ktests_free(struct ktests *kts)
{
	struct ktest	*kt;

	if (kts == NULL)
		return;
	while ((kt = TAILQ_FIRST(&kts->kts_list)) != NULL)
		ktest_drop(kts, kt);
	free(kts);
}

/* Definitions whose call never came. */
static void
ktests_expire(struct ktests *kts)
{
	struct ktest	*kt, *next;
	time_t		 now = ktest_now();

	for (kt = TAILQ_FIRST(&kts->kts_list); kt != NULL; kt = next) {
		next = TAILQ_NEXT(kt, kt_entry);
		if (kt->kt_expires <= now)
			ktest_drop(kts, kt);
	}
}

int
ktests_add(struct ktests *kts, struct ipc_msg *m, const struct snapshot *sn,
    char *why, size_t whylen)
{
	struct testmsg_def	 d;
	struct reg_report	 rep;
	struct ktest		*kt = NULL;
	struct registry		*reg;
	int			 rv = -1;

	memset(&rep, 0, sizeof(rep));
	if (testmsg_def_decode(m, &d) == -1) {
		snprintf(why, whylen, "malformed definition message");
		return -1;
	}
	ktests_expire(kts);
	if (d.td_tenant >= sn->sn_cfg->c_ntenants) {
		snprintf(why, whylen, "no such tenant");
		goto out;
	}
	if (kts->kts_n >= KTEST_MAX) {
		snprintf(why, whylen, "too many tests waiting");
		goto out;
	}
	/* The parent validated it; compiling again here is the keeper's own
	 * judgement of where its secrets may go. */
	reg = registry_load_codemode_buffer(d.td_name, d.td_def, d.td_deflen,
	    &sn->sn_cfg->c_egress.policy, &rep);
	if (reg == NULL || registry_nconnectors(reg) != 1) {
		registry_free(reg);
		snprintf(why, whylen, "the definition does not load here%s%s",
		    rep.rr_nerrors > 0 ? ": " : "", rep.rr_nerrors > 0 ?
		    rep.rr_errors[0].re_msg : "");
		goto out;
	}
	if ((kt = calloc(1, sizeof(*kt))) == NULL) {
		registry_free(reg);
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	kt->kt_id = m->m_id;
	kt->kt_slot = d.td_slot;
	kt->kt_tenant = d.td_tenant;
	kt->kt_reg = reg;
	kt->kt_expires = ktest_now() + KTEST_TTL;
	TAILQ_INSERT_TAIL(&kts->kts_list, kt, kt_entry);
	kts->kts_n++;
	rv = 0;
out:
	reg_report_clear(&rep);
	testmsg_def_clear(&d);
	return rv;
}

struct registry *
ktests_take(struct ktests *kts, uint32_t id, uint32_t slot, uint32_t tenant)
{
	struct ktest	*kt;
	struct registry	*reg;

	ktests_expire(kts);
	TAILQ_FOREACH(kt, &kts->kts_list, kt_entry)
		if (kt->kt_id == id && kt->kt_slot == slot &&
		    kt->kt_tenant == tenant) {
			reg = kt->kt_reg;
			kt->kt_reg = NULL;
			ktest_drop(kts, kt);
			return reg;
		}
	return NULL;
}
