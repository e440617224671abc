/*
 * oom.h — allocation failures on demand, for unit tests.
 *
 * A test program linked with OOM_WRAP (Makefile.am: the linker's
 * --wrap for malloc, calloc, realloc, reallocarray, strdup and strndup)
 * routes every call the project's own objects make to those functions
 * through tests/oom.c.  Nothing fails until a test arms a countdown; the
 * libraries the daemon links (libcurl, libevent, json-c) allocate as
 * usual, since --wrap changes only the objects linked into the program.
 *
 * The usual loop: for n = 0, 1, ... run the code with the n-th allocation
 * failing, until a run needed fewer than n + 1 allocations.  Each run
 * must report the failure cleanly; valgrind and ASan (CI runs both over
 * the unit tests) catch a leak or a use of freed memory on the way.
 */
#ifndef WIDGETD_OOM_H
#define WIDGETD_OOM_H

#include <stddef.h>
#include <stdint.h>

/* The n-th allocation from now (0: the next) fails, and none before. */
void	 oom_arm(long n);
/*
 * Stop failing.  1 when the armed failure happened (the code under test
 * made at least n + 1 allocations), 0 when the run needed fewer.
 */
int	 oom_disarm(void);

struct ipc_buf;
struct ipc_msg;
typedef int	(*oom_encode_fn)(struct ipc_buf *, const void *in);
typedef int	(*oom_decode_fn)(struct ipc_msg *, void *out);

/*
 * A message's encoder and decoder under that loop: in encoded into b and
 * decoded (as a message of type) into out, with each allocation of either
 * failing in turn.  Asserts that every failure is reported (-1) and that
 * both then succeed; out is left decoded, b cleared.
 */
void	 oom_roundtrip(oom_encode_fn, oom_decode_fn, uint32_t type,
	    const void *in, struct ipc_buf *b, void *out);

/*
 * A frame sent on from, flushed, read by to in one read and taken with
 * every allocation failing: asserts that taking it needed none (a kept
 * buffer held it; sanitizer builds keep none and only take it).  m is
 * the frame.
 */
struct ipc_chan;
void	 oom_free_frame(struct ipc_chan *from, struct ipc_chan *to,
	    uint32_t type, uint32_t id, const void *data, size_t len,
	    struct ipc_msg *m);

#endif
