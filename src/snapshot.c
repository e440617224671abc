/*
 * snapshot.c — configuration generations (see snapshot.h).
 *
 * The memfd holds a small binary format, written and read only here:
 *
 *	"WDSNAP01" u64 generation u32 count
 *	count × { u32 kind, u32 tenant, u32 namelen, name, u32 len, data }
 *
 * kinds: the flattened widgetd.conf (first, exactly once), a tenant's
 * registry file, a stored variable, a session public key, the CA bundle,
 * and a tenant's live published generation: its name and manifest, each
 * of its files, and the connectors its repository synced (after the
 * tenant's registry, which they are merged into).
 * The parent is the only writer and is trusted, but the reader still
 * checks every length: a bug must not become an overrun in a sandbox.
 */
#include "build.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "connector.h"
#include "pubdir.h"
#include "pubfs.h"
#include "snapshot.h"

#define SNAP_MAGIC		"WDSNAP01"
#define SNAP_MAGIC_LEN		8
#define SNAP_NO_TENANT		0xffffffffU
#define SNAP_MAX_FILE		(64 * 1024 * 1024)	/* one registry */
#define SNAP_MAX_PEM		(64 * 1024)

enum snap_kind {
	SNAP_E_CONFIG = 1,
	SNAP_E_REGISTRY,
	SNAP_E_VARIABLE,
	SNAP_E_SESSION_KEY,
	SNAP_E_CA,
	SNAP_E_EXT_GEN,		/* name: the generation; data: manifest.json */
	SNAP_E_EXT_FILE,	/* name: repository path; data: the file */
	SNAP_E_EXT_CONNECTORS	/* data: the synced connectors_registry.json */
};

/* The bytes being written, or read back. */
struct snap_buf {
	unsigned char	*b_p;
	size_t		 b_len;
	size_t		 b_cap;
	size_t		 b_off;		/* read cursor */
	int		 b_err;
	int		 b_mapped;	/* b_p is an mmap of a memfd */
};

typedef void	(*snap_report_fn)(const char *, void *);

static void
snap_report(snap_report_fn report, void *arg, const char *fmt, ...)
{
	char	 buf[2048];
	va_list	 ap;

	if (report == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	report(buf, arg);
}

static void
snap_add(struct snap_buf *b, const void *p, size_t n)
{
	unsigned char	*np;
	size_t		 cap;

	if (b->b_err)
		return;
	if (n > SNAP_MAX_SIZE - b->b_len) {
		b->b_err = EFBIG;
		return;
	}
	if (b->b_cap - b->b_len < n) {
		cap = b->b_cap ? b->b_cap : 65536;
		while (cap - b->b_len < n)
			cap *= 2;
		if ((np = realloc(b->b_p, cap)) == NULL) {
			b->b_err = ENOMEM;
			return;
		}
		b->b_p = np;
		b->b_cap = cap;
	}
	memcpy(b->b_p + b->b_len, p, n);
	b->b_len += n;
}

static void
snap_add_u32(struct snap_buf *b, uint32_t v)
{
	snap_add(b, &v, sizeof(v));
}

static void
snap_entry_n(struct snap_buf *b, uint32_t kind, uint32_t tenant,
    const void *name, size_t namelen, const void *data, size_t len)
{
	snap_add_u32(b, kind);
	snap_add_u32(b, tenant);
	snap_add_u32(b, (uint32_t)namelen);
	snap_add(b, name, namelen);
	snap_add_u32(b, (uint32_t)len);
	snap_add(b, data, len);
}

static void
snap_entry(struct snap_buf *b, enum snap_kind kind, uint32_t tenant,
    const char *name, const void *data, size_t len)
{
	snap_entry_n(b, kind, tenant, name, strlen(name), data, len);
}

/* A buffer read back (snap_read_fd) or built: unmapped or freed. */
static void
snap_buf_release(struct snap_buf *b)
{
	if (b->b_mapped)
		munmap(b->b_p, b->b_len);
	else
		free(b->b_p);
	memset(b, 0, sizeof(*b));
}

static int
snap_get(struct snap_buf *b, void *p, size_t n)
{
	if (b->b_len - b->b_off < n)
		return -1;
	memcpy(p, b->b_p + b->b_off, n);
	b->b_off += n;
	return 0;
}

/* A counted string: points into the buffer, *lenp bytes. */
static int
snap_get_bytes(struct snap_buf *b, const unsigned char **p, size_t *lenp)
{
	uint32_t	 n;

	if (snap_get(b, &n, sizeof(n)) == -1 || b->b_len - b->b_off < n)
		return -1;
	*p = b->b_p + b->b_off;
	*lenp = n;
	b->b_off += n;
	return 0;
}

/* --- The model ----------------------------------------------------------- */

static void
snap_tenant_clear(struct snap_tenant *st)
{
	size_t	 i;

	for (i = 0; i < st->st_ext.se_nfiles; i++)
		free(st->st_ext.se_files[i].sf_path);
	free(st->st_ext.se_files);
	free(st->st_ext.se_gen);
	registry_free(st->st_reg);
	for (i = 0; i < st->st_nvars; i++) {
		free(st->st_vars[i].sv_name);
		free(st->st_vars[i].sv_value);
	}
	free(st->st_vars);
	free(st->st_session_pem);
	memset(st, 0, sizeof(*st));
}

static void
snapshot_free(struct snapshot *sn)
{
	size_t	 i;

	if (sn == NULL)
		return;
	if (sn->sn_tenants != NULL && sn->sn_cfg != NULL)
		for (i = 0; i < sn->sn_cfg->c_ntenants; i++)
			snap_tenant_clear(&sn->sn_tenants[i]);
	free(sn->sn_tenants);
	config_free(sn->sn_cfg);
	free(sn->sn_ca);
	if (sn->sn_map != NULL) {
		if (sn->sn_mapped)
			munmap(sn->sn_map, sn->sn_maplen);
		else
			free(sn->sn_map);
	}
	if (sn->sn_fd != -1)
		close(sn->sn_fd);
	free(sn);
}

struct snapshot *
snapshot_ref(struct snapshot *sn)
{
	sn->sn_refs++;
	return sn;
}

void
snapshot_unref(struct snapshot *sn)
{
	if (sn != NULL && --sn->sn_refs == 0)
		snapshot_free(sn);
}

static struct snapshot *
snapshot_new(uint64_t gen, struct widgetd_config *cfg)
{
	struct snapshot	*sn;
	size_t		 i;

	if ((sn = calloc(1, sizeof(*sn))) == NULL)
		return NULL;
	sn->sn_gen = gen;
	sn->sn_refs = 1;
	sn->sn_fd = -1;
	sn->sn_cfg = cfg;
	if ((sn->sn_tenants = calloc(cfg->c_ntenants + 1,
	    sizeof(*sn->sn_tenants))) == NULL) {
		free(sn);
		return NULL;
	}
	for (i = 0; i < cfg->c_ntenants; i++)
		sn->sn_tenants[i].st_index = i;
	return sn;
}

static int
snap_var_cmp(const void *a, const void *b)
{
	return strcmp(((const struct snap_var *)a)->sv_name,
	    ((const struct snap_var *)b)->sv_name);
}

static int
snap_var_add(struct snap_tenant *st, const char *name, const void *val,
    size_t len)
{
	struct snap_var	*nv, *v;

	if (st->st_nvars >= SNAP_MAX_VARS)
		return -1;
	if ((nv = reallocarray(st->st_vars, st->st_nvars + 1,
	    sizeof(*nv))) == NULL)
		return -1;
	st->st_vars = nv;
	v = &nv[st->st_nvars];
	v->sv_name = strdup(name);
	v->sv_value = malloc(len + 1);
	if (v->sv_name == NULL || v->sv_value == NULL) {
		free(v->sv_name);
		free(v->sv_value);
		return -1;
	}
	memcpy(v->sv_value, val, len);
	v->sv_value[len] = '\0';
	v->sv_len = len;
	st->st_nvars++;
	return 0;
}

/* Hand each line of a registry report to report(). */
static void
snap_report_registry(const struct reg_report *rr, snap_report_fn report,
    void *arg)
{
	char	*text = NULL, *line, *next;
	size_t	 len = 0;
	FILE	*f;

	if (report == NULL)
		return;
	if ((f = open_memstream(&text, &len)) == NULL) {
		report("out of memory", arg);
		return;
	}
	reg_report_print(rr, f);
	fclose(f);
	for (line = text; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (*line != '\0')
			report(line, arg);
	}
	free(text);
}

static int
snap_load_registry(struct snap_tenant *st, const char *name,
    const void *data, size_t len, const struct widgetd_config *cfg,
    snap_report_fn report, void *arg)
{
	struct reg_report	 rr;

	memset(&rr, 0, sizeof(rr));
	st->st_reg = registry_load_buffer(name, data, len,
	    &cfg->c_egress.policy, &rr);
	if (st->st_reg == NULL) {
		if (rr.rr_nerrors == 0)
			snap_report(report, arg, "%s: cannot load", name);
		snap_report_registry(&rr, report, arg);
	}
	reg_report_clear(&rr);
	return st->st_reg == NULL ? -1 : 0;
}

/*
 * The connectors a tenant's repository synced: loaded by the daemon's own
 * loader under the tenant's egress policy, then merged after the
 * tenant's registry.  A permalink in both is refused (platform-docs §5):
 * the publisher refuses it too, so only a reload that adds the same
 * permalink to the registry can get here with one.
 */
static int
snap_ext_connectors(struct snap_tenant *st, const char *name,
    const void *data, size_t len, const struct widgetd_config *cfg,
    snap_report_fn report, void *arg)
{
	struct snap_tenant	 tmp;
	const char		*dup;
	size_t			 n;
	int			 rv = -1;

	memset(&tmp, 0, sizeof(tmp));
	if (st->st_reg == NULL ||
	    snap_load_registry(&tmp, name, data, len, cfg, report, arg) == -1)
		goto out;
	n = tmp.st_reg->r_nconns + tmp.st_reg->r_ncomps;
	st->st_ext.se_own_conns = st->st_reg->r_nconns;
	st->st_ext.se_own_comps = st->st_reg->r_ncomps;
	if (registry_merge(st->st_reg, tmp.st_reg, &dup) == -1) {
		if (dup != NULL)
			snap_report(report, arg, "%s: connector '%s' is both in "
			    "tenant %s's registry and synced from its "
			    "repository", name, dup, cfg->c_tenants[
			    st->st_index].t_id);
		else
			snap_report(report, arg, "%s: out of memory", name);
		goto out;
	}
	st->st_ext.se_nsynced = n;
	rv = 0;
 out:
	snap_tenant_clear(&tmp);
	return rv;
}

/* --- Parent: reading the files ------------------------------------------- */

static int
snap_read_file(const char *path, size_t max, char **out, size_t *lenp,
    snap_report_fn report, void *arg, const char *what)
{
	struct stat	 st;
	char		*buf = NULL;
	size_t		 got = 0;
	ssize_t		 n;
	int		 fd;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snap_report(report, arg, "%s: %s: %s", path, what,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snap_report(report, arg, "%s: %s: not a regular file", path,
		    what);
		goto fail;
	}
	if ((size_t)st.st_size > max) {
		snap_report(report, arg, "%s: %s: larger than %zu bytes", path,
		    what, max);
		goto fail;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		snap_report(report, arg, "%s: out of memory", path);
		goto fail;
	}
	/* The size may change while we read; never past what we sized. */
	while (got < (size_t)st.st_size) {
		n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			snap_report(report, arg, "%s: %s: %s", path, what,
			    strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	close(fd);
	*out = buf;
	*lenp = got;
	return 0;
fail:
	free(buf);
	close(fd);
	return -1;
}

/* A variable's name: identifier syntax (platform-docs §12). */
static int
snap_name_valid(const char *s)
{
	size_t	 i;

	if (!((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') ||
	    s[0] == '_'))
		return 0;
	for (i = 1; s[i] != '\0'; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_') || i >= 255)
			return 0;
	return 1;
}

/*
 * A tenant's store: the directory must exist (a typo must not silently
 * mean "no variables"); variables/ may be absent.  Secrets are not read
 * here: they are the keeper's alone.
 */
static int
snap_read_variables(struct snap_tenant *st, const char *store,
    snap_report_fn report, void *arg)
{
	struct stat	 sb;
	struct dirent	*de;
	DIR		*d;
	char		*dir = NULL, *path = NULL, *val;
	size_t		 len;
	int		 rv = 0;

	if (stat(store, &sb) == -1) {
		snap_report(report, arg, "%s: store: %s", store,
		    strerror(errno));
		return -1;
	}
	if (!S_ISDIR(sb.st_mode)) {
		snap_report(report, arg, "%s: store: not a directory", store);
		return -1;
	}
	if (asprintf(&dir, "%s/variables", store) == -1)
		return -1;
	if ((d = opendir(dir)) == NULL) {
		rv = errno == ENOENT ? 0 : -1;
		if (rv == -1)
			snap_report(report, arg, "%s: %s", dir, strerror(errno));
		free(dir);
		return rv;
	}
	while ((de = readdir(d)) != NULL) {
		/* Dot files: ".", "..", Kubernetes' ..data, temporaries. */
		if (de->d_name[0] == '.')
			continue;
		if (!snap_name_valid(de->d_name)) {
			snap_report(report, arg, "%s/%s: not a valid variable "
			    "name (letters, digits and _, not starting with a "
			    "digit)", dir, de->d_name);
			rv = -1;
			continue;
		}
		free(path);
		if (asprintf(&path, "%s/%s", dir, de->d_name) == -1) {
			path = NULL;
			rv = -1;
			break;
		}
		if (snap_read_file(path, SNAP_MAX_VAR_LEN, &val, &len, report,
		    arg, "variable") == -1) {
			rv = -1;
			continue;
		}
		if (snap_var_add(st, de->d_name, val, len) == -1) {
			snap_report(report, arg, "%s: too many variables (at "
			    "most %d) or out of memory", dir, SNAP_MAX_VARS);
			rv = -1;
		}
		free(val);
	}
	closedir(d);
	free(path);
	free(dir);
	if (st->st_nvars > 1)
		qsort(st->st_vars, st->st_nvars, sizeof(*st->st_vars),
		    snap_var_cmp);
	return rv;
}

/* --- Parent: a tenant's published generation ------------------------------ */

struct snap_pub {
	struct pubfs	*sp_fs;
	struct snap_buf	 sp_files;	/* SNAP_E_EXT_FILE entries */
	uint32_t	 sp_tenant;
	size_t		 sp_n;
	int		 sp_errno;
	char		 sp_where[256];
};

static int
snap_pub_file(const char *path, const char *rel, void *arg)
{
	struct snap_pub	*sp = arg;
	char		*data;
	size_t		 len;

	if (pubfs_read(sp->sp_fs, rel, SNAP_MAX_EXT_FILE, &data, &len) == -1) {
		sp->sp_errno = errno;
		snprintf(sp->sp_where, sizeof(sp->sp_where), "%s", rel);
		return -1;
	}
	snap_entry(&sp->sp_files, SNAP_E_EXT_FILE, sp->sp_tenant, path, data,
	    len);
	free(data);
	sp->sp_n++;
	return 0;
}

/*
 * Who may have written a published directory: the publisher runs as
 * `user`; root (the parent made the directory).  Not root: whoever we
 * are, so no check.
 */
static uid_t
snap_pub_owner(const struct widgetd_config *cfg)
{
	struct passwd	*pw;

	if (geteuid() != 0)
		return (uid_t)-1;
	if (cfg->c_user == NULL || (pw = getpwnam(cfg->c_user)) == NULL)
		return 0;
	return pw->pw_uid;
}

/*
 * The live generation of tenant i, appended to b as one SNAP_E_EXT_GEN,
 * its files and its synced connectors (merged into st's registry when st
 * is not NULL: the parent's own model).  A generation that cannot be
 * read is left out with a warning (the tenant serves no extensions until
 * its next publish); synced connectors that do not load are an error:
 * -1, the generation is refused like a bad registry.
 */
static int
snap_read_published(struct snap_buf *b, size_t *count, uint32_t i,
    const struct widgetd_config *cfg, struct snap_tenant *st, uid_t owner,
    snap_report_fn report, void *arg)
{
	const struct conf_tenant *t = &cfg->c_tenants[i];
	struct snap_pub		 sp;
	char			 gen[PUBDIR_MAXGEN], rel[PUBDIR_MAXGEN + 64];
	char			*man = NULL, *conn = NULL, name[PATH_MAX];
	size_t			 manlen = 0, connlen = 0;
	int			 rv = 0;

	memset(&sp, 0, sizeof(sp));
	sp.sp_tenant = i;
	if ((sp.sp_fs = pubfs_attach(t->t_published, owner)) == NULL) {
		if (errno != ENOENT)
			snap_report(report, arg, "%s: %s: extensions not "
			    "served", t->t_published, strerror(errno));
		return 0;
	}
	if (pubdir_live(sp.sp_fs, gen, sizeof(gen)) == -1)
		goto out;	/* nothing published yet */
	snprintf(rel, sizeof(rel), "gens/%s/manifest.json", gen);
	if (pubfs_read(sp.sp_fs, rel, SNAP_MAX_EXT_FILE, &man,
	    &manlen) == -1) {
		snap_report(report, arg, "%s/%s: %s: extensions not served",
		    t->t_published, rel, strerror(errno));
		goto out;
	}
	if (pubdir_files(sp.sp_fs, gen, SNAP_MAX_EXT_FILES, snap_pub_file,
	    &sp) == -1 || sp.sp_files.b_err) {
		if (sp.sp_errno == 0)
			sp.sp_errno = sp.sp_files.b_err ? sp.sp_files.b_err :
			    errno;
		snap_report(report, arg, "%s/gens/%s: %s%s%s: extensions not "
		    "served", t->t_published, gen, sp.sp_where,
		    sp.sp_where[0] ? ": " : "", strerror(sp.sp_errno));
		goto out;
	}
	snprintf(rel, sizeof(rel), "gens/%s/connectors_registry.json", gen);
	snprintf(name, sizeof(name), "%s/%s", t->t_published, rel);
	if (pubfs_read(sp.sp_fs, rel, SNAP_MAX_FILE, &conn, &connlen) == -1 &&
	    errno != ENOENT) {
		snap_report(report, arg, "%s: %s: extensions not served", name,
		    strerror(errno));
		goto out;
	}
	if (conn != NULL && st != NULL && snap_ext_connectors(st, name, conn,
	    connlen, cfg, report, arg) == -1) {
		rv = -1;
		goto out;
	}
	/* All of it or none: the generation's entries go in together. */
	if (b->b_len + sp.sp_files.b_len + manlen + connlen + 4096 >
	    SNAP_MAX_SIZE) {
		snap_report(report, arg, "%s/gens/%s: larger than a "
		    "configuration snapshot may be: extensions not served",
		    t->t_published, gen);
		goto out;
	}
	snap_entry(b, SNAP_E_EXT_GEN, i, gen, man, manlen);
	snap_add(b, sp.sp_files.b_p, sp.sp_files.b_len);
	*count += 1 + sp.sp_n;
	if (conn != NULL) {
		snap_entry(b, SNAP_E_EXT_CONNECTORS, i, name, conn, connlen);
		(*count)++;
	}
	if (st != NULL && (st->st_ext.se_gen = strdup(gen)) == NULL)
		rv = -1;
 out:
	free(man);
	free(conn);
	free(sp.sp_files.b_p);
	pubfs_close(sp.sp_fs);
	return rv;
}

/* Every tenant with a repository: its live generation, if any. */
static int
snap_add_published(struct snap_buf *b, size_t *count,
    const struct widgetd_config *cfg, struct snapshot *sn,
    snap_report_fn report, void *arg)
{
	uid_t	 owner = snap_pub_owner(cfg);
	size_t	 i;
	int	 rv = 0;

	for (i = 0; i < cfg->c_ntenants; i++) {
		if (cfg->c_tenants[i].t_repo.rp_path == NULL ||
		    cfg->c_tenants[i].t_published == NULL)
			continue;
		if (snap_read_published(b, count, (uint32_t)i, cfg,
		    sn != NULL ? &sn->sn_tenants[i] : NULL, owner, report,
		    arg) == -1)
			rv = -1;
	}
	return rv;
}

/* Write the bytes into a memfd nobody can change afterwards. */
static int
snap_seal(const struct snap_buf *b, snap_report_fn report, void *arg)
{
	size_t	 off = 0;
	ssize_t	 n;
	int	 fd;

	fd = memfd_create("widgetd-snapshot", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd == -1) {
		snap_report(report, arg, "memfd_create: %s", strerror(errno));
		return -1;
	}
	while (off < b->b_len) {
		n = write(fd, b->b_p + off, b->b_len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			snap_report(report, arg, "snapshot: write: %s",
			    strerror(errno));
			close(fd);
			return -1;
		}
		off += (size_t)n;
	}
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
	    F_SEAL_WRITE | F_SEAL_SEAL) == -1) {
		snap_report(report, arg, "snapshot: seal: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

struct snapshot *
snapshot_build(const char *path, uint64_t gen, int with_fd,
    snap_report_fn report, void *arg)
{
	struct widgetd_config	*cfg;
	const struct conf_tenant *t;
	struct snapshot		*sn = NULL;
	struct snap_tenant	*st;
	struct snap_buf		 b;
	char			*flat = NULL, *data;
	size_t			 flatlen = 0, len, i, j, count = 0;
	int			 bad = 0;

	memset(&b, 0, sizeof(b));
	if ((cfg = config_load_flat(path, report, arg, &flat,
	    &flatlen)) == NULL)
		return NULL;
	if ((sn = snapshot_new(gen, cfg)) == NULL) {
		config_free(cfg);
		free(flat);
		snap_report(report, arg, "%s: out of memory", path);
		return NULL;
	}
	snap_add(&b, SNAP_MAGIC, SNAP_MAGIC_LEN);
	snap_add(&b, &gen, sizeof(gen));
	snap_add_u32(&b, 0);		/* the count, filled in below */
	snap_entry(&b, SNAP_E_CONFIG, SNAP_NO_TENANT, cfg->c_path, flat,
	    flatlen);
	count++;
	free(flat);

	for (i = 0; i < cfg->c_ntenants; i++) {
		t = &cfg->c_tenants[i];
		st = &sn->sn_tenants[i];
		if (snap_read_file(t->t_registry, SNAP_MAX_FILE, &data, &len,
		    report, arg, "registry") == 0) {
			if (snap_load_registry(st, t->t_registry, data, len,
			    cfg, report, arg) == -1)
				bad = 1;
			snap_entry(&b, SNAP_E_REGISTRY, (uint32_t)i,
			    t->t_registry, data, len);
			count++;
			free(data);
		} else
			bad = 1;
		if (snap_read_variables(st, t->t_store, report, arg) == -1)
			bad = 1;
		for (j = 0; j < st->st_nvars; j++, count++)
			snap_entry(&b, SNAP_E_VARIABLE, (uint32_t)i,
			    st->st_vars[j].sv_name, st->st_vars[j].sv_value,
			    st->st_vars[j].sv_len);
		if (t->t_session.s_public_key != NULL) {
			if (snap_read_file(t->t_session.s_public_key,
			    SNAP_MAX_PEM, &st->st_session_pem,
			    &st->st_session_len, report, arg,
			    "session public_key") == -1)
				bad = 1;
			else {
				snap_entry(&b, SNAP_E_SESSION_KEY, (uint32_t)i,
				    t->t_session.s_public_key,
				    st->st_session_pem, st->st_session_len);
				count++;
			}
		}
	}
	/*
	 * What the tenants' publishers made live.  Not for widgetd -n
	 * (with_fd 0): it checks the configuration, not the published state.
	 */
	if (with_fd && snap_add_published(&b, &count, cfg, sn, report,
	    arg) == -1)
		bad = 1;
	if (cfg->c_egress.ca_file != NULL) {
		if (snap_read_file(cfg->c_egress.ca_file, SNAP_MAX_FILE,
		    &sn->sn_ca, &sn->sn_calen, report, arg,
		    "egress ca_file") == -1)
			bad = 1;
		else {
			snap_entry(&b, SNAP_E_CA, SNAP_NO_TENANT,
			    cfg->c_egress.ca_file, sn->sn_ca, sn->sn_calen);
			count++;
		}
	}
	if (b.b_err) {
		snap_report(report, arg, "%s: snapshot: %s", path,
		    strerror(b.b_err));
		bad = 1;
	}
	if (!bad) {
		uint32_t c32 = (uint32_t)count;

		memcpy(b.b_p + SNAP_MAGIC_LEN + sizeof(gen), &c32,
		    sizeof(c32));
		sn->sn_size = b.b_len;
		if (with_fd && (sn->sn_fd = snap_seal(&b, report, arg)) == -1)
			bad = 1;
	}
	free(b.b_p);
	if (bad) {
		snapshot_free(sn);
		return NULL;
	}
	return sn;
}

/* --- Children: loading ---------------------------------------------------- */

/*
 * The whole memfd, mapped read-only and shared: every child of a
 * generation sees the same pages (published files can be large), and the
 * seals make them immutable.  Where mmap fails, a copy read with pread
 * (the file offset is shared with every other holder).
 */
static int
snap_read_fd(int fd, struct snap_buf *b)
{
	struct stat	 st;
	void		*p;
	ssize_t		 n;

	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size < SNAP_MAGIC_LEN + 12 || st.st_size > SNAP_MAX_SIZE)
		return -1;
	b->b_cap = b->b_len = (size_t)st.st_size;
	p = mmap(NULL, b->b_len, PROT_READ, MAP_SHARED, fd, 0);
	if (p != MAP_FAILED) {
		b->b_p = p;
		b->b_mapped = 1;
		return 0;
	}
	if ((b->b_p = malloc(b->b_len)) == NULL)
		return -1;
	while (b->b_off < b->b_len) {
		n = pread(fd, b->b_p + b->b_off, b->b_len - b->b_off,
		    (off_t)b->b_off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		b->b_off += (size_t)n;
	}
	b->b_off = 0;
	return 0;
}

static char *
snap_strndup(const unsigned char *p, size_t n)
{
	char	*s;

	if (memchr(p, '\0', n) != NULL || (s = malloc(n + 1)) == NULL)
		return NULL;
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

/* One published file; *nm (its path) is taken over. */
static int
snap_ext_add(struct snap_ext *se, char **nm, const unsigned char *data,
    size_t len)
{
	struct snap_file	*nf;
	size_t			 n = se->se_nfiles;

	if (n >= SNAP_MAX_EXT_FILES || **nm == '\0')
		return -1;
	/* Doubling: a generation may hold thousands of files. */
	if (n == 0 || (n >= 16 && (n & (n - 1)) == 0)) {
		if ((nf = reallocarray(se->se_files, n == 0 ? 16 : n * 2,
		    sizeof(*nf))) == NULL)
			return -1;
		se->se_files = nf;
	}
	se->se_files[n].sf_path = *nm;
	se->se_files[n].sf_data = data;
	se->se_files[n].sf_len = len;
	se->se_nfiles++;
	*nm = NULL;
	return 0;
}

static int
snap_file_cmp(const void *a, const void *b)
{
	return strcmp(((const struct snap_file *)a)->sf_path,
	    ((const struct snap_file *)b)->sf_path);
}

/* Sorted for lookups; one path twice is a malformed snapshot. */
static int
snap_ext_sort(struct snap_ext *se)
{
	size_t	 i;

	if (se->se_nfiles > 1)
		qsort(se->se_files, se->se_nfiles, sizeof(*se->se_files),
		    snap_file_cmp);
	for (i = 1; i < se->se_nfiles; i++)
		if (strcmp(se->se_files[i - 1].sf_path,
		    se->se_files[i].sf_path) == 0)
			return -1;
	return 0;
}

struct snapshot *
snapshot_load(int fd, snap_report_fn report, void *arg)
{
	struct widgetd_config	*cfg = NULL;
	struct snapshot		*sn = NULL;
	struct snap_tenant	*st;
	struct snap_buf		 b;
	const unsigned char	*name, *data;
	char			 magic[SNAP_MAGIC_LEN], *nm = NULL;
	uint64_t		 gen;
	uint32_t		 count, i, kind, tenant;
	size_t			 namelen, len, exts = 0;

	memset(&b, 0, sizeof(b));
	if (snap_read_fd(fd, &b) == -1 || snap_get(&b, magic,
	    sizeof(magic)) == -1 || memcmp(magic, SNAP_MAGIC,
	    SNAP_MAGIC_LEN) != 0 || snap_get(&b, &gen, sizeof(gen)) == -1 ||
	    snap_get(&b, &count, sizeof(count)) == -1 || count == 0)
		goto bad;
	for (i = 0; i < count; i++) {
		free(nm);
		nm = NULL;
		if (snap_get(&b, &kind, sizeof(kind)) == -1 ||
		    snap_get(&b, &tenant, sizeof(tenant)) == -1 ||
		    snap_get_bytes(&b, &name, &namelen) == -1 ||
		    snap_get_bytes(&b, &data, &len) == -1 ||
		    (nm = snap_strndup(name, namelen)) == NULL)
			goto bad;
		/* The configuration comes first and only once. */
		if ((i == 0) != (kind == SNAP_E_CONFIG))
			goto bad;
		if (kind == SNAP_E_CONFIG) {
			if ((cfg = config_load_text(nm, (const char *)data, len,
			    report, arg)) == NULL ||
			    (sn = snapshot_new(gen, cfg)) == NULL) {
				config_free(cfg);
				goto bad;
			}
			continue;
		}
		if (kind == SNAP_E_CA) {
			if (sn->sn_ca != NULL || (sn->sn_ca = malloc(len + 1)) ==
			    NULL)
				goto bad;
			memcpy(sn->sn_ca, data, len);
			sn->sn_ca[len] = '\0';
			sn->sn_calen = len;
			continue;
		}
		if (tenant >= cfg->c_ntenants)
			goto bad;
		st = &sn->sn_tenants[tenant];
		switch (kind) {
		case SNAP_E_REGISTRY:
			if (st->st_reg != NULL || snap_load_registry(st, nm,
			    data, len, cfg, report, arg) == -1)
				goto bad;
			break;
		case SNAP_E_VARIABLE:
			if (!snap_name_valid(nm) || snap_var_add(st, nm, data,
			    len) == -1)
				goto bad;
			break;
		case SNAP_E_SESSION_KEY:
			if (st->st_session_pem != NULL ||
			    (st->st_session_pem = malloc(len + 1)) == NULL)
				goto bad;
			memcpy(st->st_session_pem, data, len);
			st->st_session_pem[len] = '\0';
			st->st_session_len = len;
			break;
		case SNAP_E_EXT_GEN:
			if (st->st_ext.se_gen != NULL || namelen == 0 ||
			    namelen >= PUBDIR_MAXGEN)
				goto bad;
			st->st_ext.se_gen = nm;
			nm = NULL;
			st->st_ext.se_manifest = data;
			st->st_ext.se_manifest_len = len;
			exts++;
			break;
		case SNAP_E_EXT_FILE:
			if (st->st_ext.se_gen == NULL || snap_ext_add(&st->st_ext,
			    &nm, data, len) == -1)
				goto bad;
			break;
		case SNAP_E_EXT_CONNECTORS:
			if (st->st_ext.se_gen == NULL || st->st_ext.se_nsynced ||
			    snap_ext_connectors(st, nm, data, len, cfg, report,
			    arg) == -1)
				goto bad;
			break;
		default:
			goto bad;
		}
	}
	if (b.b_off != b.b_len)
		goto bad;
	for (i = 0; i < cfg->c_ntenants; i++) {
		st = &sn->sn_tenants[i];
		if (st->st_reg == NULL)
			goto bad;
		if (st->st_nvars > 1)
			qsort(st->st_vars, st->st_nvars, sizeof(*st->st_vars),
			    snap_var_cmp);
		if (snap_ext_sort(&st->st_ext) == -1)
			goto bad;
	}
	sn->sn_size = b.b_len;
	free(nm);
	/* Published files point into the bytes: they stay with sn. */
	if (exts > 0) {
		sn->sn_map = b.b_p;
		sn->sn_maplen = b.b_len;
		sn->sn_mapped = b.b_mapped;
	} else
		snap_buf_release(&b);
	return sn;
bad:
	snap_report(report, arg, "configuration snapshot is malformed");
	free(nm);
	snap_buf_release(&b);
	snapshot_free(sn);
	return NULL;
}

/* --- Parent: a publish's new generation -------------------------------------- */

struct snapshot *
snapshot_republish(const struct snapshot *old, uint64_t gen,
    snap_report_fn report, void *arg)
{
	struct snapshot		*sn = NULL;
	struct snap_buf		 o, b;
	const unsigned char	*name, *data;
	char			 magic[SNAP_MAGIC_LEN];
	uint64_t		 ogen;
	uint32_t		 ocount, i, kind, tenant, c32;
	size_t			 namelen, len, count = 0;
	int			 fd;

	memset(&o, 0, sizeof(o));
	memset(&b, 0, sizeof(b));
	if (old->sn_fd == -1 || snap_read_fd(old->sn_fd, &o) == -1 ||
	    snap_get(&o, magic, sizeof(magic)) == -1 ||
	    snap_get(&o, &ogen, sizeof(ogen)) == -1 ||
	    snap_get(&o, &ocount, sizeof(ocount)) == -1) {
		snap_report(report, arg, "snapshot: cannot read generation "
		    "%llu back", (unsigned long long)old->sn_gen);
		goto out;
	}
	snap_add(&b, SNAP_MAGIC, SNAP_MAGIC_LEN);
	snap_add(&b, &gen, sizeof(gen));
	snap_add_u32(&b, 0);
	/* Everything but the published generations, byte for byte. */
	for (i = 0; i < ocount; i++) {
		if (snap_get(&o, &kind, sizeof(kind)) == -1 ||
		    snap_get(&o, &tenant, sizeof(tenant)) == -1 ||
		    snap_get_bytes(&o, &name, &namelen) == -1 ||
		    snap_get_bytes(&o, &data, &len) == -1)
			goto out;
		if (kind == SNAP_E_EXT_GEN || kind == SNAP_E_EXT_FILE ||
		    kind == SNAP_E_EXT_CONNECTORS)
			continue;
		snap_entry_n(&b, kind, tenant, name, namelen, data, len);
		count++;
	}
	/* The loader below checks the synced connectors. */
	snap_add_published(&b, &count, old->sn_cfg, NULL, report, arg);
	if (b.b_err) {
		snap_report(report, arg, "snapshot: %s", strerror(b.b_err));
		goto out;
	}
	c32 = (uint32_t)count;
	memcpy(b.b_p + SNAP_MAGIC_LEN + sizeof(gen), &c32, sizeof(c32));
	if ((fd = snap_seal(&b, report, arg)) == -1)
		goto out;
	if ((sn = snapshot_load(fd, report, arg)) == NULL)
		close(fd);
	else
		sn->sn_fd = fd;
 out:
	snap_buf_release(&o);
	free(b.b_p);
	return sn;
}

/* --- Lookups ---------------------------------------------------------------- */

const struct snap_tenant *
snapshot_tenant_for_host(const struct snapshot *sn, const char *host)
{
	const struct conf_tenant	*t;

	if ((t = config_tenant_for_host(sn->sn_cfg, host)) == NULL)
		return NULL;
	return &sn->sn_tenants[t - sn->sn_cfg->c_tenants];
}

const struct snap_tenant *
snapshot_tenant_by_id(const struct snapshot *sn, const char *id)
{
	const struct conf_tenant	*t;

	if ((t = config_tenant_by_id(sn->sn_cfg, id)) == NULL)
		return NULL;
	return &sn->sn_tenants[t - sn->sn_cfg->c_tenants];
}

const char *
snapshot_tenant_id(const struct snapshot *sn, const struct snap_tenant *st)
{
	return sn->sn_cfg->c_tenants[st->st_index].t_id;
}

const struct snap_file *
snapshot_ext_file(const struct snap_tenant *st, const char *path)
{
	struct snap_file	 key;

	if (st->st_ext.se_nfiles == 0)
		return NULL;
	key.sf_path = (char *)path;
	return bsearch(&key, st->st_ext.se_files, st->st_ext.se_nfiles,
	    sizeof(key), snap_file_cmp);
}

const struct snap_var *
snapshot_variable(const struct snap_tenant *st, const char *name)
{
	struct snap_var	 key;

	if (st->st_nvars == 0)
		return NULL;
	key.sv_name = (char *)name;
	return bsearch(&key, st->st_vars, st->st_nvars, sizeof(key),
	    snap_var_cmp);
}
