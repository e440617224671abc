/*
 * builtins.c — the names of the filters, tests and global functions the
 * engine knows, resolved to ids once at compile time.
 */
#include "build.h"

#include <string.h>

#include "tmpl_int.h"

#define X_NAME(id, name)	name,
static const char *filter_names[] = { FILTER_LIST(X_NAME) };
static const char *test_names[] = { TEST_LIST(X_NAME) };
static const char *builtin_names[] = { BUILTIN_LIST(X_NAME) };
#undef X_NAME

static int
names_find(const char **names, int n, const char *s)
{
	int	 i;

	for (i = 0; i < n; i++)
		if (strcmp(names[i], s) == 0)
			return i;
	return -1;
}

int
filter_lookup(const char *s)
{
	return names_find(filter_names, FLT__COUNT, s);
}

int
test_lookup(const char *s)
{
	return names_find(test_names, TST__COUNT, s);
}

int
builtin_lookup(const char *s)
{
	return names_find(builtin_names, BI__COUNT, s);
}

const char *
filter_name(int id)
{
	return id >= 0 && id < FLT__COUNT ? filter_names[id] : "?";
}

const char *
test_name(int id)
{
	return id >= 0 && id < TST__COUNT ? test_names[id] : "?";
}

const char *
builtin_name(int id)
{
	return id >= 0 && id < BI__COUNT ? builtin_names[id] : "?";
}
