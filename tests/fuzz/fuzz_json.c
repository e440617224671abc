/*
 * fuzz_json.c — libFuzzer target for from_json's parser (json_parse.c).
 * Input: a JSON document.  It is parsed twice, into counted values and
 * into a render's arena (where objects are built in their previous
 * sibling's shape and keys are matched raw), and the two must agree:
 * both fail with the same message, or both give the same json.dumps
 * output.  Every key of every dict of the arena's tree must be found by
 * a lookup at its own entry (the index a shaped dict copied or rebuilt).
 * tests/fuzz/replay.c or libFuzzer supplies main().
 */
#include "build.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "template/tmpl_int.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Every key of every dict under v is found at its own entry. */
static void
fuzz_lookups(const struct tval *v, int depth)
{
	const struct tdict_ent	*e;
	const struct tval	*k;
	size_t			 i;

	if (depth > 600)
		abort();
	if (v->tv_type == TV_LIST)
		for (i = 0; i < v->u.l.n; i++)
			fuzz_lookups(v->u.l.v[i], depth + 1);
	if (v->tv_type != TV_DICT)
		return;
	for (i = 0; i < v->u.d.n; i++) {
		e = &v->u.d.e[i];
		k = e->de_key;
		if (k->tv_type != TV_STR || e->de_hash != tval_hash(k) ||
		    tval_dict_gets(v, k->u.s.p, k->u.s.len, e->de_hash) !=
		    e->de_val)
			abort();
		fuzz_lookups(e->de_val, depth + 1);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct varena	 va;
	struct tval	*counted, *arena;
	struct buf	 b1, b2;
	char		*s, err1[256], err2[256], derr[256];

	/* a str's bytes: a NUL follows them */
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	memset(&va, 0, sizeof(va));
	va.va_cap = 64 << 20;
	err1[0] = err2[0] = '\0';
	counted = json_parse(s, size, NULL, NULL, err1, sizeof(err1));
	arena = json_parse(s, size, NULL, &va, err2, sizeof(err2));
	if (arena == NULL && va.va_full)
		goto out;
	if ((counted == NULL) != (arena == NULL))
		abort();
	if (counted == NULL) {
		if (strcmp(err1, err2) != 0)
			abort();
		goto out;
	}
	fuzz_lookups(arena, 0);
	memset(&b1, 0, sizeof(b1));
	memset(&b2, 0, sizeof(b2));
	if (json_dump(&b1, counted, 0, -1, derr, sizeof(derr)) !=
	    json_dump(&b2, arena, 0, -1, derr, sizeof(derr)) ||
	    b1.b_len != b2.b_len ||
	    (b1.b_len > 0 && memcmp(b1.b_p, b2.b_p, b1.b_len) != 0))
		abort();
	buf_free(&b1);
	buf_free(&b2);
out:
	tval_unref(counted);
	varena_free(&va);
	free(s);
	return 0;
}
