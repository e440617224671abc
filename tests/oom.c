/*
 * oom.c — see oom.h.  The __real_ functions are libc's (or the
 * sanitizer's and valgrind's replacements of them).
 */
#include "build.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "ipc.h"
#include "oom.h"

void	*__real_malloc(size_t);
void	*__real_calloc(size_t, size_t);
void	*__real_realloc(void *, size_t);
void	*__real_reallocarray(void *, size_t, size_t);
char	*__real_strdup(const char *);
char	*__real_strndup(const char *, size_t);

void	*__wrap_malloc(size_t);
void	*__wrap_calloc(size_t, size_t);
void	*__wrap_realloc(void *, size_t);
void	*__wrap_reallocarray(void *, size_t, size_t);
char	*__wrap_strdup(const char *);
char	*__wrap_strndup(const char *, size_t);

static long	oom_left = -1;		/* allocations before the failing one */
static int	oom_hit;

void
oom_arm(long n)
{
	oom_left = n;
	oom_hit = 0;
}

int
oom_disarm(void)
{
	oom_left = -1;
	return oom_hit;
}

/* 1 when this allocation is the one to fail. */
static int
oom_fail(void)
{
	if (oom_left < 0)
		return 0;
	if (oom_left-- > 0)
		return 0;
	oom_hit = 1;
	errno = ENOMEM;
	return 1;
}

void *
__wrap_malloc(size_t n)
{
	return oom_fail() ? NULL : __real_malloc(n);
}

void *
__wrap_calloc(size_t n, size_t size)
{
	return oom_fail() ? NULL : __real_calloc(n, size);
}

void *
__wrap_realloc(void *p, size_t n)
{
	return oom_fail() ? NULL : __real_realloc(p, n);
}

void *
__wrap_reallocarray(void *p, size_t n, size_t size)
{
	return oom_fail() ? NULL : __real_reallocarray(p, n, size);
}

char *
__wrap_strdup(const char *s)
{
	return oom_fail() ? NULL : __real_strdup(s);
}

char *
__wrap_strndup(const char *s, size_t n)
{
	return oom_fail() ? NULL : __real_strndup(s, n);
}

void
oom_free_frame(struct ipc_chan *from, struct ipc_chan *to, uint32_t type,
    uint32_t id, const void *data, size_t len, struct ipc_msg *m)
{
	int	 got;

	ck_assert_int_eq(ipc_send(from, type, id, data, len, -1), 0);
	ck_assert_int_ge(ipc_flush(from), 0);
	/* one writev: one read takes the frame whole */
	ck_assert_int_eq(ipc_read(to), 1);
#ifdef WIDGETD_SANITIZED
	/* nothing is kept there (spare.h): the buffer is a malloc */
	got = ipc_get(to, m);
#else
	/* no assertion while armed: check's own allocate */
	oom_arm(0);
	got = ipc_get(to, m);
	ck_assert_int_eq(oom_disarm(), 0);
#endif
	ck_assert_int_eq(got, 1);
	ck_assert_uint_eq(m->m_id, id);
	ck_assert_uint_eq(m->m_len, len);
}

void
oom_roundtrip(oom_encode_fn enc, oom_decode_fn dec, uint32_t type,
    const void *in, struct ipc_buf *b, void *out)
{
	struct ipc_msg	 m;
	long		 n;
	int		 r;

	for (n = 0;; n++) {
		oom_arm(n);
		r = enc(b, in);
		if (!oom_disarm())
			break;
		ck_assert_msg(r == -1, "encoding, allocation %ld: %d", n, r);
		ipc_buf_clear(b);
	}
	ck_assert_int_eq(r, 0);
	for (n = 0;; n++) {
		memset(&m, 0, sizeof(m));
		m.m_type = type;
		m.m_data = b->b_data;
		m.m_len = (uint32_t)b->b_len;
		oom_arm(n);
		r = dec(&m, out);
		if (!oom_disarm())
			break;
		ck_assert_msg(r == -1, "decoding, allocation %ld: %d", n, r);
	}
	ck_assert_int_eq(r, 0);
	ck_assert_int_gt(n, 0);
	ipc_buf_clear(b);
}
