/*
 * cachehdr.c — parsers of the header fields the response cache uses (see
 * cachehdr.h).  Every input is an upstream's (or, in the keeper, a
 * worker's) bytes: bounded by len, never assumed NUL-terminated.
 */
#include "build.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "cachehdr.h"
#include "token.h"

static int
cachehdr_ows(unsigned char c)
{
	return c == ' ' || c == '\t';
}

void
cachehdr_cc_init(struct cachehdr_cc *cc)
{
	memset(cc, 0, sizeof(*cc));
	cc->cc_max_age = CACHEHDR_ABSENT;
	cc->cc_s_maxage = CACHEHDR_ABSENT;
	cc->cc_stale_if_error = CACHEHDR_ABSENT;
}

/* A second value that differs from the first makes the directive unusable. */
static void
cachehdr_cc_merge(int64_t *have, int64_t v)
{
	if (*have == CACHEHDR_ABSENT)
		*have = v;
	else if (*have != v)
		*have = CACHEHDR_INVALID;
}

/*
 * The argument of a directive, token or quoted-string, starting at s[*i]
 * (just past '='), read as delta-seconds.  *i ends past the argument.
 * Returns the value, or CACHEHDR_INVALID when the argument is malformed or
 * is not digits.
 */
static int64_t
cachehdr_cc_arg(const char *s, size_t len, size_t *i)
{
	int64_t		 v = 0;
	size_t		 n = 0;
	unsigned char	 c;
	int		 quoted, closed = 0, bad = 0;

	quoted = *i < len && s[*i] == '"';
	if (quoted)
		(*i)++;
	while (*i < len) {
		c = (unsigned char)s[*i];
		if (quoted) {
			if (c == '"') {
				(*i)++;
				closed = 1;
				break;
			}
			if (c == '\\') {
				if (*i + 1 >= len)
					return CACHEHDR_INVALID;
				c = (unsigned char)s[++(*i)];
			}
			if ((c < 0x20 && c != '\t') || c == 0x7f)
				return CACHEHDR_INVALID;
		} else if (!tok_tchar(c))
			break;
		if (!isdigit(c))
			bad = 1;
		else if (v < CACHEHDR_DELTA_MAX)
			v = v * 10 + (c - '0');
		if (v > CACHEHDR_DELTA_MAX)
			v = CACHEHDR_DELTA_MAX;
		n++;
		(*i)++;
	}
	if (quoted && !closed)
		return CACHEHDR_INVALID;
	return n == 0 || bad ? CACHEHDR_INVALID : v;
}

/* Past the next ',' that is not inside a quoted-string. */
static size_t
cachehdr_cc_skip(const char *s, size_t len, size_t i)
{
	int	 quoted = 0;

	for (; i < len; i++) {
		if (quoted && s[i] == '\\')
			i++;
		else if (s[i] == '"')
			quoted = !quoted;
		else if (!quoted && s[i] == ',')
			break;
	}
	return i;
}

void
cachehdr_cc_parse(struct cachehdr_cc *cc, const char *s, size_t len)
{
	static const struct {
		const char	*name;
		size_t		 off;
		int		 delta;
	} dirs[] = {
		{ "no-store", offsetof(struct cachehdr_cc, cc_no_store), 0 },
		{ "no-cache", offsetof(struct cachehdr_cc, cc_no_cache), 0 },
		{ "private", offsetof(struct cachehdr_cc, cc_private), 0 },
		{ "public", offsetof(struct cachehdr_cc, cc_public), 0 },
		{ "must-revalidate", offsetof(struct cachehdr_cc,
		    cc_must_revalidate), 0 },
		{ "proxy-revalidate", offsetof(struct cachehdr_cc,
		    cc_proxy_revalidate), 0 },
		{ "max-age", offsetof(struct cachehdr_cc, cc_max_age), 1 },
		{ "s-maxage", offsetof(struct cachehdr_cc, cc_s_maxage), 1 },
		{ "stale-if-error", offsetof(struct cachehdr_cc,
		    cc_stale_if_error), 1 },
	};
	size_t		 i = 0, name, nlen, k;
	int64_t		 v;
	int		 hasarg;

	while (i < len) {
		/* Empty list elements and white space are allowed. */
		if (s[i] == ',' || cachehdr_ows((unsigned char)s[i])) {
			i++;
			continue;
		}
		name = i;
		while (i < len && tok_tchar((unsigned char)s[i]))
			i++;
		nlen = i - name;
		v = CACHEHDR_INVALID;
		hasarg = i < len && s[i] == '=';
		if (hasarg) {
			i++;
			v = cachehdr_cc_arg(s, len, &i);
		}
		while (i < len && cachehdr_ows((unsigned char)s[i]))
			i++;
		/* Anything else before the next comma: a malformed element. */
		if (nlen == 0 || (i < len && s[i] != ',')) {
			v = CACHEHDR_INVALID;
			i = cachehdr_cc_skip(s, len, i);
		}
		for (k = 0; nlen > 0 && k < sizeof(dirs) / sizeof(dirs[0]);
		    k++) {
			if (strlen(dirs[k].name) != nlen ||
			    strncasecmp(dirs[k].name, s + name, nlen) != 0)
				continue;
			if (dirs[k].delta)
				cachehdr_cc_merge((int64_t *)(void *)
				    ((char *)cc + dirs[k].off), v);
			else
				/* Qualified forms count as the whole. */
				*(int *)(void *)((char *)cc + dirs[k].off) = 1;
			break;
		}
	}
}

int
cachehdr_delta(const char *s, size_t len, int64_t *out)
{
	size_t	 i = 0, end = len;
	int64_t	 v = 0;

	while (i < end && cachehdr_ows((unsigned char)s[i]))
		i++;
	while (end > i && cachehdr_ows((unsigned char)s[end - 1]))
		end--;
	if (i == end)
		return -1;
	for (; i < end; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		if (v < CACHEHDR_DELTA_MAX)
			v = v * 10 + (s[i] - '0');
	}
	*out = v > CACHEHDR_DELTA_MAX ? CACHEHDR_DELTA_MAX : v;
	return 0;
}

/* --- HTTP-date -------------------------------------------------------- */

struct cachehdr_cur {
	const char	*c_s;
	size_t		 c_len;
	size_t		 c_i;
};

static int
cachehdr_lit(struct cachehdr_cur *c, const char *lit)
{
	size_t	 n = strlen(lit);

	if (c->c_len - c->c_i < n || memcmp(c->c_s + c->c_i, lit, n) != 0)
		return 0;
	c->c_i += n;
	return 1;
}

/* Exactly n digits (n <= 4). */
static int
cachehdr_digits(struct cachehdr_cur *c, size_t n, int *out)
{
	size_t	 k;
	int	 v = 0;

	if (c->c_len - c->c_i < n)
		return 0;
	for (k = 0; k < n; k++) {
		if (!isdigit((unsigned char)c->c_s[c->c_i + k]))
			return 0;
		v = v * 10 + (c->c_s[c->c_i + k] - '0');
	}
	c->c_i += n;
	*out = v;
	return 1;
}

static const char *const cachehdr_months[] = { "Jan", "Feb", "Mar", "Apr",
    "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

/* A month name: its number 1–12, or 0. */
static int
cachehdr_month(struct cachehdr_cur *c)
{
	int	 m;

	for (m = 0; m < 12; m++)
		if (cachehdr_lit(c, cachehdr_months[m]))
			return m + 1;
	return 0;
}

/* One of names (NULL-terminated list): 1 when found, cursor past it. */
static int
cachehdr_oneof(struct cachehdr_cur *c, const char *const *names)
{
	size_t	 k;

	for (k = 0; names[k] != NULL; k++)
		if (cachehdr_lit(c, names[k]))
			return 1;
	return 0;
}

/* hour ":" minute ":" second */
static int
cachehdr_time(struct cachehdr_cur *c, int *h, int *m, int *s)
{
	return cachehdr_digits(c, 2, h) && cachehdr_lit(c, ":") &&
	    cachehdr_digits(c, 2, m) && cachehdr_lit(c, ":") &&
	    cachehdr_digits(c, 2, s) && *h <= 23 && *m <= 59 && *s <= 60;
}

static int
cachehdr_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian, y >= 1). */
static int64_t
cachehdr_days(int y, int m, int d)
{
	static const int before[] = { 0, 31, 59, 90, 120, 151, 181, 212,
	    243, 273, 304, 334 };
	int64_t	 py = (int64_t)y - 1, days;

	/* Days before 1 January of year y, counted from 0001-01-01. */
	days = py * 365 + py / 4 - py / 100 + py / 400;
	days += before[m - 1] + (m > 2 && cachehdr_leap(y)) + d - 1;
	/* 0001-01-01 to 1970-01-01 is 719162 days. */
	return days - 719162;
}

static int
cachehdr_valid_day(int y, int m, int d)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };

	if (y < 1 || m < 1 || m > 12 || d < 1)
		return 0;
	return d <= mdays[m - 1] + (m == 2 && cachehdr_leap(y));
}

int
cachehdr_date(const char *s, size_t len, int64_t *out)
{
	static const char *const days[] = { "Mon", "Tue", "Wed", "Thu", "Fri",
	    "Sat", "Sun", NULL };
	static const char *const ldays[] = { "Monday", "Tuesday",
	    "Wednesday", "Thursday", "Friday", "Saturday", "Sunday", NULL };
	struct cachehdr_cur	 c;
	int			 y = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0;
	int			 ok = 0;

	while (len > 0 && cachehdr_ows((unsigned char)s[len - 1]))
		len--;
	c.c_s = s;
	c.c_len = len;
	c.c_i = 0;
	while (c.c_i < len && cachehdr_ows((unsigned char)s[c.c_i]))
		c.c_i++;
	/* The long names first: "Monday" begins with "Mon". */
	if (cachehdr_oneof(&c, ldays)) {
		/* rfc850-date: Sunday, 06-Nov-94 08:49:37 GMT */
		ok = cachehdr_lit(&c, ", ") && cachehdr_digits(&c, 2, &d) &&
		    cachehdr_lit(&c, "-") && (mo = cachehdr_month(&c)) != 0 &&
		    cachehdr_lit(&c, "-") && cachehdr_digits(&c, 2, &y) &&
		    cachehdr_lit(&c, " ") && cachehdr_time(&c, &h, &mi, &se) &&
		    cachehdr_lit(&c, " GMT");
		/* Two digits: 70–99 are 19xx, the rest 20xx. */
		y += y >= 70 ? 1900 : 2000;
	} else if (cachehdr_oneof(&c, days)) {
		if (cachehdr_lit(&c, ", "))
			/* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
			ok = cachehdr_digits(&c, 2, &d) &&
			    cachehdr_lit(&c, " ") &&
			    (mo = cachehdr_month(&c)) != 0 &&
			    cachehdr_lit(&c, " ") &&
			    cachehdr_digits(&c, 4, &y) &&
			    cachehdr_lit(&c, " ") &&
			    cachehdr_time(&c, &h, &mi, &se) &&
			    cachehdr_lit(&c, " GMT");
		else
			/* asctime-date: Sun Nov  6 08:49:37 1994 */
			ok = cachehdr_lit(&c, " ") &&
			    (mo = cachehdr_month(&c)) != 0 &&
			    cachehdr_lit(&c, " ") &&
			    (cachehdr_digits(&c, 2, &d) ||
			    (cachehdr_lit(&c, " ") &&
			    cachehdr_digits(&c, 1, &d))) &&
			    cachehdr_lit(&c, " ") &&
			    cachehdr_time(&c, &h, &mi, &se) &&
			    cachehdr_lit(&c, " ") &&
			    cachehdr_digits(&c, 4, &y);
	}
	if (!ok || c.c_i != len || !cachehdr_valid_day(y, mo, d))
		return -1;
	*out = cachehdr_days(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
	return 0;
}

int
cachehdr_etag_ok(const char *s, size_t len)
{
	size_t	 i = 0;

	while (i < len && cachehdr_ows((unsigned char)s[i]))
		i++;
	while (len > i && cachehdr_ows((unsigned char)s[len - 1]))
		len--;
	if (len - i >= 2 && s[i] == 'W' && s[i + 1] == '/')
		i += 2;
	if (len - i < 2 || s[i] != '"' || s[len - 1] != '"')
		return 0;
	/* etagc = %x21 / %x23-7E / obs-text */
	for (i++; i < len - 1; i++)
		if ((unsigned char)s[i] < 0x21 || s[i] == '"' ||
		    (unsigned char)s[i] == 0x7f)
			return 0;
	return 1;
}

int
cachehdr_retry_after(const char *s, size_t len, int64_t now, int64_t *secs)
{
	int64_t	 v;

	if (cachehdr_delta(s, len, &v) == 0) {
		*secs = v;
		return 0;
	}
	if (cachehdr_date(s, len, &v) == -1)
		return -1;
	*secs = v > now ? v - now : 0;
	return 0;
}

int
cachehdr_inm_match(const char *inm, const char *etag)
{
	const char	*p = inm, *tag;
	size_t		 n, elen;

	if (inm == NULL)
		return 0;
	/* Weak comparison: W/"x" matches "x". */
	if (strncmp(etag, "W/", 2) == 0)
		etag += 2;
	elen = strlen(etag);
	while (*p != '\0') {
		p += strspn(p, " \t,");
		if (*p == '\0')
			break;
		if (*p == '*')
			return 1;
		tag = p;
		if (strncmp(tag, "W/", 2) == 0)
			tag += 2;
		if (*tag != '"')
			return 0;	/* not a list of entity tags */
		if ((p = strchr(tag + 1, '"')) == NULL)
			return 0;
		n = (size_t)(++p - tag);
		if (n == elen && memcmp(tag, etag, n) == 0)
			return 1;
	}
	return 0;
}
