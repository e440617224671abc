/*
 * publisher.c — the process that publishes one tenant's watched
 * repository (SPEC §10 "Publisher"; PRIVSEP.md).
 *
 * It handles untrusted repository bytes as a worker handles requests, so
 * it holds nothing worth taking: it runs as `user`, reads only the
 * repository and writes only the tenant's published directory (Landlock),
 * and its seccomp filter has no socket, no exec, no fork and no thread
 * (sandbox.c).  It never sees a secret: secrets are not in the snapshot,
 * and the keeper's stores are outside its Landlock rules.
 *
 * What it does: at start, publish unless the live generation already is
 * the branch's commit made with the same settings; then look at the
 * branch every extensions.poll_interval seconds and publish when it
 * moved; publish at once on MSG_PUBLISH (widgetctl publish).  Each
 * outcome goes to the parent as MSG_PUBLISHED, which takes a new
 * generation into a new configuration snapshot for the workers.  A
 * publish runs to its end before the next message is read.
 */
#include "build.h"

#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "chan.h"
#include "config.h"
#include "ipc.h"
#include "log.h"
#include "proc.h"
#include "pubdir.h"
#include "pubfs.h"
#include "publish.h"
#include "scan.h"
#include "snapshot.h"

struct publisher {
	struct event_base	*b_base;
	struct chan		*b_parent;
	struct snapshot		*b_snap;
	const struct conf_tenant *b_tenant;
	struct publish_opts	 b_opts;
	struct scan_policy	 b_scan;
	struct event		*b_timer;
	char			 b_settings[24];	/* settings tag */
	char			 b_last[41];	/* commit last published or
						   attempted ("" none) */
	char			 b_why[256];	/* the last look's error,
						   logged once */
	int			 b_norepo;	/* no Landlock rule for it */
};

/*
 * The settings a generation depends on besides the commit: the trusted
 * CDNs (the scan's allow-list) and the size cap.  A change of either
 * republishes at the next start; FNV-1a is enough to tell them apart.
 */
static void
publisher_settings(const struct widgetd_config *cfg, char *out, size_t size)
{
	uint64_t	 h = 0xcbf29ce484222325ULL;
	char		 num[32];
	const char	*p;
	size_t		 i;

	for (i = 0; i < cfg->c_ext.x_ncdns; i++)
		for (p = cfg->c_ext.x_cdns[i]; ; p++) {
			h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
			if (*p == '\0')
				break;
		}
	snprintf(num, sizeof(num), "%zu", cfg->c_ext.x_publish_bytes);
	for (p = num; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
	snprintf(out, size, "%016llx", (unsigned long long)h);
}

/* One publish, its outcome logged by the parent and answered to it. */
static void
publisher_run(struct publisher *b, uint32_t id)
{
	struct publish_build	 pb;
	struct ipc_published	 ip;
	struct ipc_buf		 buf;
	char			 msg[1025];
	size_t			 i;
	int			 rv;

	rv = publish_run(&b->b_opts, &pb);
	for (i = 0; i < pb.pb_nwarnings; i++)
		log_info("build %lu: warning: %s", pb.pb_id, pb.pb_warnings[i]);
	for (i = 0; rv == -1 && i < pb.pb_ndetails && i < 20; i++)
		log_debug("build %lu: %s", pb.pb_id, pb.pb_details[i]);
	if (pb.pb_nscanned + pb.pb_nscankept > 0)
		log_debug("build %lu: %zu files scanned, %zu found clean by an "
		    "earlier publish", pb.pb_id, pb.pb_nscanned,
		    pb.pb_nscankept);
	/* A failed commit is not retried until the branch moves again. */
	if (pb.pb_commit[0] != '\0')
		snprintf(b->b_last, sizeof(b->b_last), "%s", pb.pb_commit);
	memset(&ip, 0, sizeof(ip));
	ip.ip_build = pb.pb_id;
	ip.ip_state = pb.pb_state;
	ip.ip_changed = rv == 0;
	ip.ip_files = (uint32_t)pb.pb_nfiles;
	ip.ip_reused = (uint32_t)pb.pb_nreused;
	ip.ip_warnings = (uint32_t)pb.pb_nwarnings;
	ip.ip_commit = pb.pb_commit;
	ip.ip_code = (char *)(pb.pb_code != NULL ? pb.pb_code : "");
	/* It goes into a log line: no more than the decoder takes. */
	snprintf(msg, sizeof(msg), "%s", pb.pb_message != NULL ?
	    pb.pb_message : "");
	for (i = 0; msg[i] != '\0'; i++)
		if ((unsigned char)msg[i] < 0x20 || msg[i] == 0x7f)
			msg[i] = '?';
	ip.ip_message = msg;
	ip.ip_generation = pb.pb_generation;
	if (ipc_encode_published(&buf, &ip) == 0)
		chan_send(b->b_parent, MSG_PUBLISHED, id, buf.b_data, buf.b_len,
		    -1);
	ipc_buf_clear(&buf);
	publish_build_clear(&pb);
}

/*
 * At start: is the live generation already this branch's commit, made
 * with these settings?  Then nothing is published until the branch
 * moves (a restart or a reload costs no generation).
 */
static int
publisher_current(struct publisher *b)
{
	struct pubdir_source	 ps;
	struct pubfs		*fs;
	char			 gen[PUBDIR_MAXGEN], commit[41];
	int			 rv = 0;

	if (publish_resolve(b->b_opts.po_repo, b->b_opts.po_branch, commit,
	    b->b_why, sizeof(b->b_why)) == -1)
		return 0;
	if ((fs = pubfs_attach(b->b_opts.po_outdir, (uid_t)-1)) == NULL)
		return 0;
	if (pubdir_live(fs, gen, sizeof(gen)) == 0 &&
	    pubdir_source(fs, gen, &ps) == 0 &&
	    strcmp(ps.ps_commit, commit) == 0 &&
	    strcmp(ps.ps_branch, b->b_opts.po_branch) == 0 &&
	    strcmp(ps.ps_settings, b->b_settings) == 0) {
		snprintf(b->b_last, sizeof(b->b_last), "%s", commit);
		log_info("generation %s is %.12s of %s: up to date", gen,
		    commit, b->b_opts.po_branch);
		rv = 1;
	}
	pubfs_close(fs);
	return rv;
}

/* The watcher: a look at the branch, a publish when it moved. */
static void
publisher_poll_cb(int fd, short what, void *arg)
{
	struct publisher	*b = arg;
	struct stat		 st;
	char			 commit[41], why[256];

	if (publish_resolve(b->b_opts.po_repo, b->b_opts.po_branch, commit,
	    why, sizeof(why)) == -1) {
		/*
		 * Made after this process confined itself, the repository
		 * has no Landlock rule and stays unreadable: exit, and the
		 * parent starts a publisher that can read it.
		 */
		if (b->b_norepo && stat(b->b_opts.po_repo, &st) == 0) {
			log_info("repository %s appeared: restarting to read "
			    "it", b->b_opts.po_repo);
			chan_flush_sync(b->b_parent);
			_exit(0);
		}
		if (strcmp(why, b->b_why) != 0) {
			log_warnx("%s", why);
			snprintf(b->b_why, sizeof(b->b_why), "%s", why);
		}
		return;
	}
	if (b->b_why[0] != '\0') {
		log_info("branch %s readable again", b->b_opts.po_branch);
		b->b_why[0] = '\0';
	}
	if (strcmp(commit, b->b_last) != 0) {
		log_debug("branch %s moved to %.12s", b->b_opts.po_branch,
		    commit);
		publisher_run(b, 0);
	}
}

static int
publisher_parent_msg(struct chan *ch, struct ipc_msg *m, void *arg)
{
	struct publisher	*b = arg;

	if (m->m_fd != -1)
		return -1;
	switch (m->m_type) {
	case MSG_PUBLISH:
		log_debug("publish requested");
		publisher_run(b, m->m_id);
		return 0;
	case MSG_SHUTDOWN:
		event_base_loopexit(b->b_base, NULL);
		return 0;
	default:
		log_warnx("parent sent unexpected %s", ipc_type_name(m->m_type));
		return -1;
	}
}

static void
publisher_parent_close(struct chan *ch, enum chan_end end, const char *why,
    void *arg)
{
	log_set_forward(NULL, NULL);
	fatalx("parent channel closed (%s)", why);
}

int
publisher_main(const struct proc_opts *po, int slot)
{
	struct publisher	 b;
	const struct widgetd_config *cfg;
	const struct snap_tenant *st;
	const char		*ro[2], *rw[2];
	struct timeval		 tv;
	char			 name[32];

	memset(&b, 0, sizeof(b));
	snprintf(name, sizeof(name), "publisher %d", slot);
	log_procname(name);
	log_setverbose(po->po_verbose);
	proc_child_signals();
	/* As in the worker: everything is set up before the sandbox. */
	if ((b.b_base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	b.b_parent = chan_new(b.b_base, PROC_CHAN_FD, IPC_PUBLISHER,
	    IPC_PARENT, publisher_parent_msg, publisher_parent_close, &b);
	if (b.b_parent == NULL)
		fatalx("cannot set up the parent channel");
	log_set_forward(proc_log_forward, b.b_parent);
	if ((b.b_snap = snapshot_load(PROC_SNAP_FD, proc_log_report,
	    NULL)) == NULL)
		fatalx("cannot load the configuration snapshot");
	close(PROC_SNAP_FD);
	cfg = b.b_snap->sn_cfg;
	if ((size_t)slot >= cfg->c_ntenants ||
	    cfg->c_tenants[slot].t_repo.rp_path == NULL ||
	    cfg->c_tenants[slot].t_published == NULL)
		fatalx("tenant %d has no repository", slot);
	b.b_tenant = &cfg->c_tenants[slot];
	st = &b.b_snap->sn_tenants[slot];
	tzset();
	/* libgit2 reads its settings now, not under the filter. */
	if (publish_init() == -1)
		fatalx("cannot initialise libgit2");
	publisher_settings(cfg, b.b_settings, sizeof(b.b_settings));
	b.b_scan.sp_hosts = (const char *const *)cfg->c_ext.x_cdns;
	b.b_scan.sp_nhosts = cfg->c_ext.x_ncdns;
	b.b_opts.po_repo = b.b_tenant->t_repo.rp_path;
	b.b_opts.po_branch = b.b_tenant->t_repo.rp_branch;
	b.b_opts.po_outdir = b.b_tenant->t_published;
	b.b_opts.po_scan = &b.b_scan;
	b.b_opts.po_policy = &cfg->c_egress.policy;
	b.b_opts.po_manual = st->st_reg;
	b.b_opts.po_manual_split = st->st_ext.se_nsynced > 0;
	b.b_opts.po_manual_nconns = st->st_ext.se_own_conns;
	b.b_opts.po_manual_ncomps = st->st_ext.se_own_comps;
	b.b_opts.po_settings = b.b_settings;
	/* a push that changes one file scans that file */
	if ((b.b_opts.po_scancache = publish_scancache_new()) == NULL)
		log_warnx("no memory to remember scanned files: every "
		    "publish scans every file");
	b.b_opts.po_limits.pl_total_bytes = cfg->c_ext.x_publish_bytes;
	if ((b.b_timer = event_new(b.b_base, -1, EV_PERSIST,
	    publisher_poll_cb, &b)) == NULL)
		fatalx("event_new failed");

	/* The repository read-only, the published directory read-write. */
	ro[0] = b.b_opts.po_repo;
	ro[1] = NULL;
	rw[0] = b.b_opts.po_outdir;
	rw[1] = NULL;
	if (proc_confine_rw(PROC_PUBLISHER, cfg, ro, rw) == 1) {
		b.b_norepo = 1;
		log_warnx("repository %s or %s does not exist: nothing is "
		    "published until it does", b.b_opts.po_repo,
		    b.b_opts.po_outdir);
	}
	chan_send(b.b_parent, MSG_READY, 0, NULL, 0, -1);
	log_debug("ready: %s branch %s", b.b_opts.po_repo, b.b_opts.po_branch);

	/* Configured repositories are published at start (SPEC §10). */
	if (!publisher_current(&b))
		publisher_run(&b, 0);
	tv.tv_sec = cfg->c_ext.x_poll;
	tv.tv_usec = 0;
	event_add(b.b_timer, &tv);
	event_base_dispatch(b.b_base);
	chan_flush_sync(b.b_parent);
	/* As in the worker: no exit handlers under the filter. */
	_exit(0);
}
