/*
 * strings.c — code-point aware helpers: templates index, slice, measure and
 * case-map str values by characters like Python does, while values are
 * stored as UTF-8 bytes.
 */
#include "build.h"

#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

#include "tmpl_int.h"

/* Decode the code point at *pos and advance; invalid bytes count as one. */
int
utf8_next(const char *s, size_t len, size_t *pos, uint32_t *cp)
{
	const unsigned char	*p = (const unsigned char *)s + *pos;
	size_t			 left = len - *pos, n, i;
	uint32_t		 c;

	if (left == 0)
		return 0;
	if (p[0] < 0x80) {
		*cp = p[0];
		*pos += 1;
		return 1;
	}
	if ((p[0] & 0xe0) == 0xc0) {
		n = 2;
		c = p[0] & 0x1f;
	} else if ((p[0] & 0xf0) == 0xe0) {
		n = 3;
		c = p[0] & 0x0f;
	} else if ((p[0] & 0xf8) == 0xf0) {
		n = 4;
		c = p[0] & 0x07;
	} else
		goto bad;
	if (n > left)
		goto bad;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			goto bad;
		c = (c << 6) | (p[i] & 0x3f);
	}
	*cp = c;
	*pos += n;
	return 1;
bad:
	*cp = 0xfffd;
	/* keep character counting consistent with tval_nchars() */
	*pos += 1;
	while (*pos < len && ((unsigned char)s[*pos] & 0xc0) == 0x80)
		*pos += 1;
	return 1;
}

size_t
utf8_put(char *o, uint32_t cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Unicode case tables come from the C.UTF-8 locale, loaded once. */
static locale_t
str_locale(void)
{
	static locale_t	 loc;
	static int	 tried;

	if (!tried) {
		tried = 1;
		loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	}
	return loc;
}

uint32_t
cp_upper(uint32_t c)
{
	locale_t	 l;

	if (c < 0x80)
		return c >= 'a' && c <= 'z' ? c - 32 : c;
	if ((l = str_locale()) == (locale_t)0)
		return c;
	return (uint32_t)towupper_l((wint_t)c, l);
}

uint32_t
cp_lower(uint32_t c)
{
	locale_t	 l;

	if (c < 0x80)
		return c >= 'A' && c <= 'Z' ? c + 32 : c;
	if ((l = str_locale()) == (locale_t)0)
		return c;
	return (uint32_t)towlower_l((wint_t)c, l);
}

int
cp_isspace(uint32_t c)
{
	if (c < 0x80)
		return c == ' ' || (c >= '\t' && c <= '\r') ||
		    (c >= 0x1c && c <= 0x1f);
	return c == 0x85 || c == 0xa0 || c == 0x1680 ||
	    (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 ||
	    c == 0x202f || c == 0x205f || c == 0x3000;
}

int
cp_isalpha(uint32_t c)
{
	locale_t	 l;

	if (c < 0x80)
		return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
	if ((l = str_locale()) == (locale_t)0)
		return 0;
	return iswalpha_l((wint_t)c, l) != 0;
}

int
cp_isdigit(uint32_t c)
{
	locale_t	 l;

	if (c < 0x80)
		return c >= '0' && c <= '9';
	if ((l = str_locale()) == (locale_t)0)
		return 0;
	return iswdigit_l((wint_t)c, l) != 0;
}

int
cp_isalnum(uint32_t c)
{
	return cp_isalpha(c) || cp_isdigit(c);
}

int
cp_islower(uint32_t c)
{
	return cp_upper(c) != c;
}

int
cp_isupper(uint32_t c)
{
	return cp_lower(c) != c;
}

size_t
str_offset(const struct tval *v, size_t i)
{
	size_t		 pos = 0;
	uint32_t	 cp;

	if (tval_is_ascii(v))
		return i < v->u.s.len ? i : v->u.s.len;
	while (i > 0 && utf8_next(v->u.s.p, v->u.s.len, &pos, &cp))
		i--;
	return pos;
}

/*
 * Full case mappings (Unicode SpecialCasing) that change the length: what
 * Python's str.upper()/title()/lower() do beyond one-to-one mappings.
 * mode 0 upper, 1 title, 2 lower.  Writes UTF-8, returns its length.
 */
size_t
cp_case_full(uint32_t cp, int mode, char *out)
{
	static const struct {
		uint32_t	 cf_cp;
		const char	*cf_upper;
		const char	*cf_title;
	} special[] = {
		{ 0x00df, "SS", "Ss" },			/* sharp s */
		{ 0xfb00, "FF", "Ff" }, { 0xfb01, "FI", "Fi" },
		{ 0xfb02, "FL", "Fl" }, { 0xfb03, "FFI", "Ffi" },
		{ 0xfb04, "FFL", "Ffl" }, { 0xfb05, "ST", "St" },
		{ 0xfb06, "ST", "St" },
		{ 0x0149, "\xca\xbcN", "\xca\xbcN" },	/* 'n preceded by apostrophe */
	};
	size_t	 i;

	if (cp >= 0x80) {
		if (mode == 2 && cp == 0x130) {
			memcpy(out, "i\xcc\x87", 3);
			return 3;
		}
		if (mode != 2)
			for (i = 0; i < sizeof(special) / sizeof(special[0]);
			    i++)
				if (special[i].cf_cp == cp) {
					const char	*r = mode == 0 ?
					    special[i].cf_upper :
					    special[i].cf_title;

					memcpy(out, r, strlen(r));
					return strlen(r);
				}
	}
	return utf8_put(out, mode == 2 ? cp_lower(cp) : cp_upper(cp));
}

static struct tval *
str_map(const struct tval *v, uint32_t (*fn)(uint32_t))
{
	struct buf	 b;
	size_t		 pos = 0, i;
	uint32_t	 cp;
	char		 tmp[8];

	if (tval_is_ascii(v)) {
		char	*p;

		if ((p = malloc(v->u.s.len + 1)) == NULL)
			return NULL;
		for (i = 0; i < v->u.s.len; i++)
			p[i] = (char)fn((unsigned char)v->u.s.p[i]);
		p[i] = '\0';
		return tval_str_take(p, v->u.s.len);
	}
	memset(&b, 0, sizeof(b));
	while (utf8_next(v->u.s.p, v->u.s.len, &pos, &cp))
		if (buf_add(&b, tmp, cp_case_full(cp, fn == cp_upper ? 0 : 2,
		    tmp)) == -1) {
			buf_free(&b);
			return NULL;
		}
	return tval_str_buf(&b);
}

struct tval *
str_upper(const struct tval *v)
{
	return str_map(v, cp_upper);
}

struct tval *
str_lower(const struct tval *v)
{
	return str_map(v, cp_lower);
}
