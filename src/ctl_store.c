/*
 * ctl_store.c — widgetctl secret set|rm|list and variable
 * set|rm|list|get (SPEC §2, §4): the operator's side of the store.
 *
 * The files are written here directly (store.c), so a secret's value
 * never passes through the daemon; the daemon is only told that something
 * changed (ctl_store_notify).  A secret's value is read from standard
 * input only, with read(2) into one buffer that is wiped: never argv, the
 * environment or a stdio buffer.
 *
 *	-t tenant	the tenant; default the only one, else the default
 *			tenant (the one without hosts)
 *	-r		keep every byte of standard input; without it one
 *			trailing newline is dropped (echo and here-documents
 *			add one)
 *
 * Exit status: 0 done, 1 refused or failed, 2 usage (a secret value on
 * the command line included).
 */
#include "build.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "config.h"
#include "store.h"
#include "widgetctl.h"

/* A masked secret: its first character, then this whatever its length. */
#define CTL_STORE_MASK		"*******"

enum ctl_store_verb {
	CTL_STORE_SET,
	CTL_STORE_RM,
	CTL_STORE_LIST,
	CTL_STORE_GET
};

/* One invocation, for messages: "secret set". */
struct ctl_store_cmd {
	enum store_kind		 sc_kind;
	enum ctl_store_verb	 sc_verb;
	const char		*sc_what;	/* "secret set" */
	int			 sc_raw;
	const char		*sc_tenant;	/* -t, or NULL */
};

/*
 * Tell the running daemon that tenant's secrets (the keeper re-reads
 * them) or variables (the parent builds a new configuration generation)
 * changed.  0 when it was told or nothing runs.
 *
 * Not connected yet: the lead wires it to the control socket once the
 * daemon answers the notice (ctl_command() in ctl_daemon.c: "secrets"
 * with the tenant for a secret, "reload" for a variable, CTL_QUIET_DOWN
 * so that no running daemon is not an error).  Until then it tells nobody
 * and returns 0.
 */
int
ctl_store_notify(struct ctl_globals *g, const char *tenant, int is_secret)
{
	return 0;
}

static void
ctl_store_conf_error(const char *msg, void *arg)
{
	fprintf(stderr, "%s\n", msg);
}

/* An entry the reader refused: said, and counted for the exit status. */
struct ctl_store_problems {
	const char	*sp_what;
	int		 sp_n;
};

static void
ctl_store_entry_error(const char *msg, void *arg)
{
	struct ctl_store_problems	*p = arg;

	fprintf(stderr, "widgetctl: %s: %s\n", p->sp_what, msg);
	p->sp_n++;
}

/* "a, b, c": the tenant ids, for messages (ids are at most 64 bytes). */
static void
ctl_store_tenant_ids(const struct widgetd_config *conf, char *buf,
    size_t len)
{
	size_t	 i, off = 0;
	int	 n;

	buf[0] = '\0';
	for (i = 0; i < conf->c_ntenants && off < len; i++) {
		n = snprintf(buf + off, len - off, "%s%s", i > 0 ? ", " : "",
		    conf->c_tenants[i].t_id);
		if (n < 0)
			break;
		off += (size_t)n;
	}
}

/* -t id, else the only tenant, else the default one; NULL (said why). */
static const struct conf_tenant *
ctl_store_tenant(const struct ctl_store_cmd *c,
    const struct widgetd_config *conf)
{
	char	 ids[1024];
	size_t	 i;

	ctl_store_tenant_ids(conf, ids, sizeof(ids));
	if (c->sc_tenant != NULL) {
		for (i = 0; i < conf->c_ntenants; i++)
			if (strcmp(conf->c_tenants[i].t_id, c->sc_tenant) == 0)
				return &conf->c_tenants[i];
		fprintf(stderr, "widgetctl: %s: no tenant '%s' in %s "
		    "(tenants: %s)\n", c->sc_what, c->sc_tenant, conf->c_path,
		    ids);
		return NULL;
	}
	if (conf->c_ntenants == 1)
		return &conf->c_tenants[0];
	for (i = 0; i < conf->c_ntenants; i++)
		if (conf->c_tenants[i].t_nhosts == 0)
			return &conf->c_tenants[i];
	fprintf(stderr, "widgetctl: %s: %s has several tenants and no default "
	    "one; name one with -t (tenants: %s)\n", c->sc_what, conf->c_path,
	    ids);
	return NULL;
}

/*
 * Read a value from standard input into buf (STORE_VALUE_MAX + 2 bytes).
 * A terminal is asked for one line, without echo for a secret; anything
 * else is read to its end.  -1 (said why) when it does not fit.
 */
static int
ctl_store_read_value(const struct ctl_store_cmd *c, const char *name,
    unsigned char *buf, size_t *lenp)
{
	struct termios	 old, noecho;
	size_t		 len = 0, cap = STORE_VALUE_MAX + 2;
	ssize_t		 n;
	int		 tty, echo_off = 0, rv = -1;

	if ((tty = isatty(STDIN_FILENO))) {
		/* Echo off before the prompt: nothing typed after it shows. */
		if (c->sc_kind == STORE_SECRET &&
		    tcgetattr(STDIN_FILENO, &old) == 0) {
			noecho = old;
			noecho.c_lflag &= ~(tcflag_t)ECHO;
			echo_off = tcsetattr(STDIN_FILENO, TCSAFLUSH,
			    &noecho) == 0;
		}
		fprintf(stderr, "%s '%s': ", store_kind_name(c->sc_kind),
		    name);
	}
	while (len < cap) {
		if ((n = read(STDIN_FILENO, buf + len, tty ? 1 : cap - len)) ==
		    -1) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "widgetctl: %s: standard input: %s\n",
			    c->sc_what, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (tty && buf[len - 1] == '\n')
			break;
	}
	/* One trailing newline is the line's end, not the value. */
	if ((tty || !c->sc_raw) && len > 0 && buf[len - 1] == '\n')
		len--;
	if (len > STORE_VALUE_MAX) {
		fprintf(stderr, "widgetctl: %s: the value is longer than %d "
		    "bytes\n", c->sc_what, STORE_VALUE_MAX);
		goto out;
	}
	*lenp = len;
	rv = 0;
 out:
	if (echo_off) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	return rv;
}

/* Print one byte of a variable's value, control bytes escaped. */
static void
ctl_store_putc_vis(unsigned char ch)
{
	switch (ch) {
	case '\\':
		fputs("\\\\", stdout);
		break;
	case '\n':
		fputs("\\n", stdout);
		break;
	case '\t':
		fputs("\\t", stdout);
		break;
	case '\r':
		fputs("\\r", stdout);
		break;
	default:
		if (ch < 0x20 || ch == 0x7f)
			printf("\\x%02x", ch);
		else
			putchar(ch);
	}
}

/*
 * A secret as the hosted product shows it: its first character (a
 * printable ASCII byte or a whole UTF-8 sequence, else '?') and a mask of
 * fixed length, so the listing does not tell the value's length.
 */
static void
ctl_store_put_masked(const unsigned char *v, size_t len)
{
	size_t	 n = 0, i;

	if (v[0] > 0x20 && v[0] < 0x7f)
		n = 1;
	else if (v[0] >= 0xc2 && v[0] <= 0xdf)
		n = 2;
	else if (v[0] >= 0xe0 && v[0] <= 0xef)
		n = 3;
	else if (v[0] >= 0xf0 && v[0] <= 0xf4)
		n = 4;
	for (i = 1; i < n; i++)
		if (i >= len || (v[i] & 0xc0) != 0x80)
			n = 0;
	if (n == 0)
		putchar('?');
	else
		fwrite(v, 1, n, stdout);
	fputs(CTL_STORE_MASK, stdout);
}

static int
ctl_store_list(const struct ctl_store_cmd *c, const struct conf_tenant *t,
    const char *name)
{
	struct store_map		*m;
	struct ctl_store_problems	 p = { c->sc_what, 0 };
	const char			*n;
	const void			*v;
	char				 err[512];
	size_t				 i, j, len;
	int				 rv = 1;

	if ((m = store_read(t->t_store, c->sc_kind, ctl_store_entry_error,
	    &p, err, sizeof(err))) == NULL) {
		fprintf(stderr, "widgetctl: %s: %s\n", c->sc_what, err);
		goto out;
	}
	if (c->sc_verb == CTL_STORE_GET) {
		if (store_lookup(m, name, &v, &len) != 0) {
			fprintf(stderr, "widgetctl: %s: no variable '%s' in "
			    "tenant '%s'\n", c->sc_what, name, t->t_id);
			goto out;
		}
		fwrite(v, 1, len, stdout);
		putchar('\n');
		rv = 0;
		goto out;
	}
	for (i = 0; i < store_map_count(m); i++) {
		store_map_entry(m, i, &n, &v, &len);
		printf("%s\t", n);
		if (c->sc_kind == STORE_SECRET)
			ctl_store_put_masked(v, len);
		else
			for (j = 0; j < len; j++)
				ctl_store_putc_vis(((const unsigned char *)v)[j]);
		putchar('\n');
	}
	/* Refused entries were printed; the status says there were some. */
	rv = p.sp_n > 0 ? 1 : 0;
 out:
	if (fflush(stdout) == EOF || ferror(stdout)) {
		fprintf(stderr, "widgetctl: %s: standard output: %s\n",
		    c->sc_what, strerror(errno));
		rv = 1;
	}
	store_map_free(m);
	return rv;
}

static int
ctl_store_change(struct ctl_globals *g, const struct ctl_store_cmd *c,
    const struct widgetd_config *conf, const struct conf_tenant *t,
    const char *name, const char *argval)
{
	struct passwd	*pw;
	unsigned char	*buf = NULL;
	char		 err[512];
	size_t		 len = 0;
	uid_t		 uid = (uid_t)-1;
	gid_t		 gid = (gid_t)-1;
	int		 rc, rv = 1;

	/*
	 * As root, secrets belong to the keeper's user (SPEC §4).  Not root,
	 * the daemon cannot switch users either: the files stay the caller's.
	 */
	if (c->sc_kind == STORE_SECRET && geteuid() == 0) {
		if ((pw = getpwnam(conf->c_keeper_user)) == NULL) {
			fprintf(stderr, "widgetctl: %s: keeper_user '%s' does "
			    "not exist\n", c->sc_what, conf->c_keeper_user);
			goto out;
		}
		uid = pw->pw_uid;
		gid = pw->pw_gid;
	}
	if (c->sc_verb == CTL_STORE_RM) {
		if ((rc = store_remove(t->t_store, c->sc_kind, name, err,
		    sizeof(err))) != 0) {
			if (rc == 1)
				fprintf(stderr, "widgetctl: %s: no %s '%s' in "
				    "tenant '%s'\n", c->sc_what,
				    store_kind_name(c->sc_kind), name, t->t_id);
			else
				fprintf(stderr, "widgetctl: %s: %s\n",
				    c->sc_what, err);
			goto out;
		}
	} else {
		/* Checked before a prompt asks for a value it would refuse. */
		if (!store_name_valid(name)) {
			fprintf(stderr, "widgetctl: %s: '%s' is not a valid "
			    "name (letters, digits and '_', not starting with "
			    "a digit, at most %d bytes)\n", c->sc_what, name,
			    STORE_NAME_MAX);
			goto out;
		}
		if (argval != NULL) {
			len = strlen(argval);
			rc = store_write(t->t_store, c->sc_kind, name, argval,
			    len, uid, gid, err, sizeof(err));
		} else {
			if ((buf = malloc(STORE_VALUE_MAX + 2)) == NULL) {
				fprintf(stderr, "widgetctl: %s: %s\n",
				    c->sc_what, strerror(errno));
				goto out;
			}
			if (ctl_store_read_value(c, name, buf, &len) == -1)
				goto out;
			rc = store_write(t->t_store, c->sc_kind, name, buf,
			    len, uid, gid, err, sizeof(err));
		}
		if (rc != 0) {
			fprintf(stderr, "widgetctl: %s: %s\n", c->sc_what, err);
			goto out;
		}
	}
	if (ctl_store_notify(g, t->t_id, c->sc_kind == STORE_SECRET) != 0) {
		fprintf(stderr, "widgetctl: %s: '%s' changed in tenant '%s', "
		    "but the running daemon was not told; run widgetctl "
		    "reload\n", c->sc_what, name, t->t_id);
		goto out;
	}
	rv = 0;
 out:
	if (buf != NULL) {
		explicit_bzero(buf, STORE_VALUE_MAX + 2);
		free(buf);
	}
	return rv;
}

static int
ctl_store_usage(enum store_kind kind)
{
	if (kind == STORE_SECRET)
		fprintf(stderr, "usage: widgetctl secret set [-r] [-t tenant] "
		    "NAME < value\n"
		    "       widgetctl secret rm [-t tenant] NAME\n"
		    "       widgetctl secret list [-t tenant]\n");
	else
		fprintf(stderr, "usage: widgetctl variable set [-r] "
		    "[-t tenant] NAME [VALUE]\n"
		    "       widgetctl variable rm|get [-t tenant] NAME\n"
		    "       widgetctl variable list [-t tenant]\n");
	return 2;
}

static int
ctl_store_main(struct ctl_globals *g, enum store_kind kind, int argc,
    char **argv)
{
	static const char *const verbs[] = { "set", "rm", "list", "get" };
	struct ctl_store_cmd		 c;
	struct widgetd_config		*conf = NULL;
	const struct conf_tenant	*t;
	const char			*confpath;
	char				 what[32];
	size_t				 i;
	int				 ch, nargs, rv = 1;

	memset(&c, 0, sizeof(c));
	c.sc_kind = kind;
	if (argc < 2)
		return ctl_store_usage(kind);
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strcmp(argv[1], verbs[i]) == 0)
			break;
	/* Secrets are never read back: there is no "secret get". */
	if (i == sizeof(verbs) / sizeof(verbs[0]) ||
	    (kind == STORE_SECRET && i == CTL_STORE_GET))
		return ctl_store_usage(kind);
	c.sc_verb = (enum ctl_store_verb)i;
	snprintf(what, sizeof(what), "%s %s", store_kind_name(kind), verbs[i]);
	c.sc_what = what;
	argc--;
	argv++;
	optind = 0;
	while ((ch = getopt(argc, argv, "rt:")) != -1) {
		switch (ch) {
		case 'r':
			if (c.sc_verb != CTL_STORE_SET)
				return ctl_store_usage(kind);
			c.sc_raw = 1;
			break;
		case 't':
			c.sc_tenant = optarg;
			break;
		default:
			return ctl_store_usage(kind);
		}
	}
	argc -= optind;
	argv += optind;
	/*
	 * A secret given as an argument is already in ps output and the
	 * shell's history: refuse it loudly rather than store it.
	 */
	if (kind == STORE_SECRET && c.sc_verb == CTL_STORE_SET && argc > 1) {
		fprintf(stderr, "widgetctl: secret set: a secret's value is read "
		    "from standard input only, never from the command line "
		    "(other users see arguments in ps, and the shell keeps "
		    "them in its history); nothing was stored\n");
		return 2;
	}
	nargs = c.sc_verb == CTL_STORE_LIST ? 0 : 1;
	if (argc != nargs && !(kind == STORE_VARIABLE &&
	    c.sc_verb == CTL_STORE_SET && argc == 2))
		return ctl_store_usage(kind);

	confpath = g->g_config ? g->g_config : SYSCONFDIR "/widgetd.conf";
	if ((conf = config_load(confpath, ctl_store_conf_error, NULL)) ==
	    NULL) {
		fprintf(stderr, "widgetctl: %s: %s: invalid configuration\n",
		    c.sc_what, confpath);
		goto out;
	}
	if ((t = ctl_store_tenant(&c, conf)) == NULL)
		goto out;
	if (c.sc_verb == CTL_STORE_LIST || c.sc_verb == CTL_STORE_GET)
		rv = ctl_store_list(&c, t, argc > 0 ? argv[0] : NULL);
	else
		rv = ctl_store_change(g, &c, conf, t, argv[0],
		    argc > 1 ? argv[1] : NULL);
 out:
	config_free(conf);
	return rv;
}

int
ctl_secret_main(struct ctl_globals *g, int argc, char **argv)
{
	return ctl_store_main(g, STORE_SECRET, argc, argv);
}

int
ctl_variable_main(struct ctl_globals *g, int argc, char **argv)
{
	return ctl_store_main(g, STORE_VARIABLE, argc, argv);
}
