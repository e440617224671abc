/*
 * snapshot.c — configuration generations (see snapshot.h).
 *
 * The memfd holds a small binary format, written and read only here:
 *
 *	"WDSNAP01" u64 generation u32 count
 *	count × { u32 kind, u32 tenant, u32 namelen, name, u32 len, data }
 *
 * kinds: the flattened widgetd.conf (first, exactly once), a tenant's
 * registry file, a stored variable, a session public key, the CA bundle.
 * The parent is the only writer and is trusted, but the reader still
 * checks every length: a bug must not become an overrun in a sandbox.
 */
#include "build.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "connector.h"
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
	SNAP_E_CA
};

/* The bytes being written, or read back. */
struct snap_buf {
	unsigned char	*b_p;
	size_t		 b_len;
	size_t		 b_cap;
	size_t		 b_off;		/* read cursor */
	int		 b_err;
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
snap_entry(struct snap_buf *b, enum snap_kind kind, uint32_t tenant,
    const char *name, const void *data, size_t len)
{
	snap_add_u32(b, kind);
	snap_add_u32(b, tenant);
	snap_add_u32(b, (uint32_t)strlen(name));
	snap_add(b, name, strlen(name));
	snap_add_u32(b, (uint32_t)len);
	snap_add(b, data, len);
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

/* Read the whole memfd with pread: the file offset is shared. */
static int
snap_read_fd(int fd, struct snap_buf *b)
{
	struct stat	 st;
	ssize_t		 n;

	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size < SNAP_MAGIC_LEN + 12 || st.st_size > SNAP_MAX_SIZE)
		return -1;
	if ((b->b_p = malloc((size_t)st.st_size)) == NULL)
		return -1;
	b->b_cap = b->b_len = (size_t)st.st_size;
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
	size_t			 namelen, len;

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
	}
	sn->sn_size = b.b_len;
	free(nm);
	free(b.b_p);
	return sn;
bad:
	snap_report(report, arg, "configuration snapshot is malformed");
	free(nm);
	free(b.b_p);
	snapshot_free(sn);
	return NULL;
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
	size_t	 i;

	for (i = 0; i < sn->sn_cfg->c_ntenants; i++)
		if (strcmp(sn->sn_cfg->c_tenants[i].t_id, id) == 0)
			return &sn->sn_tenants[i];
	return NULL;
}

const char *
snapshot_tenant_id(const struct snapshot *sn, const struct snap_tenant *st)
{
	return sn->sn_cfg->c_tenants[st->st_index].t_id;
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
