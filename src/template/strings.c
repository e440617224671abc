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

int
str_init(void)
{
	return str_locale() == (locale_t)0 ? -1 : 0;
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

/*
 * The end of the run of white space (space 1) or of other characters
 * (space 0) at byte i, by code points as Python's str.split sees them.
 */
size_t
utf8_skip_space(const char *p, size_t len, size_t i, int space)
{
	size_t		 q;
	uint32_t	 c;

	while (i < len) {
		q = i;
		utf8_next(p, len, &q, &c);
		if ((cp_isspace(c) != 0) != space)
			break;
		i = q;
	}
	return i;
}

/* The same backwards: the start of the run that ends at i, not before lo */
size_t
utf8_skip_space_back(const char *p, size_t lo, size_t i, int space)
{
	size_t		 q, pos;
	uint32_t	 c;

	while (i > lo) {
		q = i - 1;
		while (q > lo && ((unsigned char)p[q] & 0xc0) == 0x80)
			q--;
		pos = q;
		utf8_next(p, i, &pos, &c);
		if ((cp_isspace(c) != 0) != space)
			break;
		i = q;
	}
	return i;
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

/*
 * Python's str.isdecimal(): general category Nd.  glibc's iswdigit() knows
 * only ASCII, so the common decimal blocks are listed by their zero; each
 * block is ten consecutive code points.
 */
int
cp_isdecimal(uint32_t c)
{
	static const uint32_t zeros[] = {
		0x0660, 0x06f0, 0x07c0, 0x0966, 0x09e6, 0x0a66, 0x0ae6, 0x0b66,
		0x0be6, 0x0c66, 0x0ce6, 0x0d66, 0x0de6, 0x0e50, 0x0ed0, 0x0f20,
		0x1040, 0x1090, 0x17e0, 0x1810, 0x1946, 0x19d0, 0x1a80, 0x1a90,
		0x1b50, 0x1bb0, 0x1c40, 0x1c50, 0xa620, 0xa8d0, 0xa900, 0xa9d0,
		0xa9f0, 0xaa50, 0xabf0, 0xff10, 0x104a0, 0x11066, 0x110f0,
		0x11136, 0x111d0, 0x112f0, 0x11450, 0x114d0, 0x11650, 0x116c0,
		0x11730, 0x118e0, 0x16a60, 0x16b50, 0x1e140, 0x1e2f0, 0x1e950,
		0x1fbf0,
	};
	size_t	 i;

	if (c < 0x80)
		return c >= '0' && c <= '9';
	if (c >= 0x1d7ce && c <= 0x1d7ff)	/* mathematical digits */
		return 1;
	for (i = 0; i < sizeof(zeros) / sizeof(zeros[0]); i++)
		if (c >= zeros[i] && c < zeros[i] + 10)
			return 1;
	return 0;
}

/*
 * Python's str.isdigit(): decimals and the other Numeric_Type=Digit
 * characters (superscripts, subscripts, circled digits).
 */
int
cp_isdigit(uint32_t c)
{
	static const uint32_t ranges[][2] = {
		{ 0x00b2, 0x00b3 }, { 0x00b9, 0x00b9 }, { 0x1369, 0x1371 },
		{ 0x19da, 0x19da }, { 0x2070, 0x2070 }, { 0x2074, 0x2079 },
		{ 0x2080, 0x2089 }, { 0x2460, 0x2468 }, { 0x2474, 0x247c },
		{ 0x2488, 0x2490 }, { 0x24ea, 0x24ea }, { 0x24f5, 0x24fd },
		{ 0x24ff, 0x24ff }, { 0x2776, 0x277e }, { 0x2780, 0x2788 },
		{ 0x278a, 0x2792 }, { 0x1f100, 0x1f10a },
	};
	size_t	 i;

	if (cp_isdecimal(c))
		return 1;
	for (i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
		if (c >= ranges[i][0] && c <= ranges[i][1])
			return 1;
	return 0;
}

/*
 * Python's str.isnumeric(): digits plus Numeric_Type=Numeric, i.e.
 * fractions, Roman numerals, circled numbers above 9 and the CJK
 * numerals in common use.
 */
int
cp_isnumeric(uint32_t c)
{
	static const uint32_t ranges[][2] = {
		{ 0x00bc, 0x00be }, { 0x09f4, 0x09f9 }, { 0x0bf0, 0x0bf2 },
		{ 0x0f2a, 0x0f33 }, { 0x1372, 0x137c }, { 0x16ee, 0x16f0 },
		{ 0x2150, 0x2182 }, { 0x2185, 0x2189 }, { 0x2469, 0x2473 },
		{ 0x247d, 0x2487 }, { 0x2491, 0x249b }, { 0x24eb, 0x24f4 },
		{ 0x24fe, 0x24fe }, { 0x277f, 0x277f }, { 0x2789, 0x2789 },
		{ 0x2793, 0x2793 }, { 0x2cfd, 0x2cfd }, { 0x3007, 0x3007 },
		{ 0x3021, 0x3029 }, { 0x3038, 0x303a }, { 0x3192, 0x3195 },
		{ 0x3220, 0x3229 }, { 0x3248, 0x324f }, { 0x3251, 0x325f },
		{ 0x3280, 0x3289 }, { 0x32b1, 0x32bf },
	};
	static const uint32_t cjk[] = {
		0x4e00, 0x4e03, 0x4e07, 0x4e09, 0x4e5d, 0x4e8c, 0x4e94, 0x5104,
		0x5146, 0x516b, 0x516d, 0x5341, 0x5343, 0x56db, 0x767e, 0x96f6,
	};
	size_t	 i;

	if (cp_isdigit(c))
		return 1;
	for (i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
		if (c >= ranges[i][0] && c <= ranges[i][1])
			return 1;
	for (i = 0; i < sizeof(cjk) / sizeof(cjk[0]); i++)
		if (c == cjk[i])
			return 1;
	return 0;
}

/* Python's isalnum(): isalpha() or isnumeric() (which covers the rest) */
int
cp_isalnum(uint32_t c)
{
	return cp_isalpha(c) || cp_isnumeric(c);
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

/* Unicode Case_Ignorable, its common part: apostrophes, dots, marks. */
static int
cp_case_ignorable(uint32_t c)
{
	return c == '\'' || c == '.' || c == ':' || c == '^' || c == '`' ||
	    c == 0xa8 || c == 0xad || c == 0xaf || c == 0xb4 || c == 0xb7 ||
	    c == 0xb8 || (c >= 0x2b0 && c <= 0x36f) || c == 0x374 ||
	    c == 0x375 || c == 0x37a || c == 0x384 || c == 0x385 ||
	    c == 0x387 || (c >= 0x483 && c <= 0x489) ||
	    (c >= 0x591 && c <= 0x5bd) || (c >= 0x1ab0 && c <= 0x1aff) ||
	    (c >= 0x1dc0 && c <= 0x1dff) || (c >= 0x200b && c <= 0x200f) ||
	    c == 0x2018 || c == 0x2019 || c == 0x2024 || c == 0x2027 ||
	    (c >= 0x20d0 && c <= 0x20f0) || (c >= 0xfe00 && c <= 0xfe0f) ||
	    (c >= 0xfe20 && c <= 0xfe2f);
}

/* Unicode Cased: has a case mapping (approximates Lt and the few
 * Other_Lowercase letters by their mappings). */
static int
cp_iscased(uint32_t c)
{
	return cp_upper(c) != c || cp_lower(c) != c;
}

/* Step back one code point from *pos, not before lo. */
static int
utf8_prev(const char *s, size_t lo, size_t *pos, uint32_t *cp)
{
	size_t	 p = *pos, q;

	if (p <= lo)
		return 0;
	p--;
	while (p > lo && ((unsigned char)s[p] & 0xc0) == 0x80)
		p--;
	q = p;
	utf8_next(s, *pos, &q, cp);
	*pos = p;
	return 1;
}

/*
 * Python's lower() of one code point in its string s[lo..len), the code
 * point spanning [at, next): as cp_case_full(), but a capital sigma is
 * final (U+03C2) after a cased letter and not before one, with
 * case-ignorable characters skipped either side (Unicode's Final_Sigma).
 */
size_t
cp_lower_at(const char *s, size_t lo, size_t len, size_t at, size_t next,
    uint32_t cp, char *out)
{
	size_t		 p;
	uint32_t	 c = 0;
	int		 fin = 0;

	if (cp != 0x3a3)
		return cp_case_full(cp, 2, out);
	p = at;
	while (utf8_prev(s, lo, &p, &c) && cp_case_ignorable(c))
		;
	if (p < at && !cp_case_ignorable(c) && cp_iscased(c)) {
		fin = 1;
		p = next;
		while (utf8_next(s, len, &p, &c))
			if (!cp_case_ignorable(c)) {
				fin = !cp_iscased(c);
				break;
			}
	}
	return utf8_put(out, fin ? 0x3c2 : 0x3c3);
}

/*
 * Python's str.casefold(): lower case plus the full case foldings that
 * differ from it (sharp s to ss, ligatures, final sigma, Greek symbol
 * variants, Cherokee small letters to capitals).
 */
struct tval *
str_casefold(const struct tval *v)
{
	static const struct {
		uint32_t	 cf_cp;
		const char	*cf_fold;
	} fold[] = {
		{ 0x00b5, "\xce\xbc" }, { 0x00df, "ss" }, { 0x1e9e, "ss" },
		{ 0x0130, "i\xcc\x87" }, { 0x0149, "\xca\xbcn" },
		{ 0x017f, "s" }, { 0x01f0, "j\xcc\x8c" },
		{ 0x0345, "\xce\xb9" }, { 0x0390, "\xce\xb9\xcc\x88\xcc\x81" },
		{ 0x03b0, "\xcf\x85\xcc\x88\xcc\x81" }, { 0x03c2, "\xcf\x83" },
		{ 0x03d0, "\xce\xb2" }, { 0x03d1, "\xce\xb8" },
		{ 0x03d5, "\xcf\x86" }, { 0x03d6, "\xcf\x80" },
		{ 0x03f0, "\xce\xba" }, { 0x03f1, "\xcf\x81" },
		{ 0x03f5, "\xce\xb5" }, { 0x0587, "\xd5\xa5\xd6\x82" },
		{ 0x1e96, "h\xcc\xb1" }, { 0x1e97, "t\xcc\x88" },
		{ 0x1e98, "w\xcc\x8a" }, { 0x1e99, "y\xcc\x8a" },
		{ 0x1e9a, "a\xca\xbe" }, { 0x1e9b, "\xe1\xb9\xa1" },
		{ 0xfb00, "ff" }, { 0xfb01, "fi" }, { 0xfb02, "fl" },
		{ 0xfb03, "ffi" }, { 0xfb04, "ffl" }, { 0xfb05, "st" },
		{ 0xfb06, "st" },
	};
	struct buf	 b;
	size_t		 pos = 0, i;
	uint32_t	 cp;
	char		 tmp[8];
	const char	*r;
	int		 rc;

	if (tval_is_ascii(v))
		return str_lower(v);
	memset(&b, 0, sizeof(b));
	while (utf8_next(v->u.s.p, v->u.s.len, &pos, &cp)) {
		r = NULL;
		for (i = 0; i < sizeof(fold) / sizeof(fold[0]); i++)
			if (fold[i].cf_cp == cp) {
				r = fold[i].cf_fold;
				break;
			}
		if (r != NULL)
			rc = buf_add(&b, r, strlen(r));
		else if (cp >= 0x13f8 && cp <= 0x13fd)
			rc = buf_add(&b, tmp, utf8_put(tmp, cp - 8));
		else if (cp >= 0xab70 && cp <= 0xabbf)
			rc = buf_add(&b, tmp, utf8_put(tmp, cp - 0xab70 + 0x13a0));
		else if (cp >= 0x13a0 && cp <= 0x13f5)
			rc = buf_add(&b, tmp, utf8_put(tmp, cp));
		else
			rc = buf_add(&b, tmp, utf8_put(tmp, cp_lower(cp)));
		if (rc == -1) {
			buf_free(&b);
			return NULL;
		}
	}
	return tval_str_buf(&b);
}

static struct tval *
str_map(const struct tval *v, uint32_t (*fn)(uint32_t))
{
	struct buf	 b;
	size_t		 pos = 0, i, at;
	uint32_t	 cp;
	char		 tmp[8];

	if (tval_is_ascii(v)) {
		struct tval	*r;
		char		*p;
		int		 lo = fn == cp_lower, c;

		/* ASCII: a byte at a time, into the value's own block */
		if ((r = tval_str(v->u.s.p, v->u.s.len)) == NULL)
			return NULL;
		for (i = 0, p = r->u.s.p; i < v->u.s.len; i++) {
			c = (unsigned char)p[i];
			if (lo ? (c >= 'A' && c <= 'Z') : (c >= 'a' && c <= 'z'))
				p[i] = (char)(c ^ 0x20);
		}
		r->tv_flags |= TVF_ASCII_KNOWN | TVF_ASCII;
		return r;
	}
	memset(&b, 0, sizeof(b));
	for (at = 0; utf8_next(v->u.s.p, v->u.s.len, &pos, &cp); at = pos)
		if (buf_add(&b, tmp, fn == cp_upper ? cp_case_full(cp, 0, tmp) :
		    cp_lower_at(v->u.s.p, 0, v->u.s.len, at, pos, cp, tmp)) ==
		    -1) {
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
