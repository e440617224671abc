/*
 * builtins.c — the one table of the filters, tests, global functions and
 * methods the engine knows (the lists are in tmpl_int.h).  The parser
 * resolves names to ids once; the evaluator calls handlers through the
 * table; the analysis reads which built-ins may touch a secret from it.
 */
#include "build.h"

#include <string.h>

#include "tmpl_int.h"

#define X_FLT(id, name, fn, nargs, flags)				\
	[FLT_##id] = { name, BK_FILTER, 0, nargs, flags, fn, NULL, NULL },
#define X_TST(id, name, fn, nargs, flags)				\
	[TST_##id] = { name, BK_TEST, 0, nargs, flags, NULL, fn, NULL },
#define X_FN(id, name, fn, nargs, flags)				\
	[FN_##id] = { name, BK_FUNCTION, 0, nargs, flags, NULL, NULL, fn },
#define X_M(id, type, name)						\
	[M_##id] = { name, BK_METHOD, type, BA_ANY, 0, NULL, NULL,	\
	    method_call },
const struct builtin builtins[BI__COUNT] = {
	FILTER_LIST(X_FLT)
	TEST_LIST(X_TST)
	FUNCTION_LIST(X_FN)
	METHOD_LIST(X_M)
};
#undef X_FLT
#undef X_TST
#undef X_FN
#undef X_M

/*
 * Compile-time (and map()/select() name) lookups: a scan of the kind's
 * part of the table (the lists follow one another), first bytes first.
 */
int
builtin_find(enum builtin_kind kind, const char *name)
{
	static const int	 first[] = { 0, TST_BOOLEAN, FN_RANGE,
	    M_S_LOWER, BI__COUNT };
	int			 i;

	for (i = first[kind]; i < first[kind + 1]; i++)
		if (builtins[i].bi_name[0] == name[0] &&
		    strcmp(builtins[i].bi_name, name) == 0)
			return i;
	return -1;
}

int
builtin_method(int type, const char *name)
{
	int	 i;

	for (i = M_S_LOWER; i < BI__COUNT; i++)
		if (builtins[i].bi_recv == type &&
		    strcmp(builtins[i].bi_name, name) == 0)
			return i;
	return -1;
}

const char *
builtin_name(int id)
{
	return id >= 0 && id < BI__COUNT ? builtins[id].bi_name : "?";
}
