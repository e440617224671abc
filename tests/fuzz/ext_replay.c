/*
 * ext_replay.c — main() that replays a fuzz target's seed corpus, for the
 * extensions targets (fuzz_extreg, fuzz_scan, fuzz_publish_paths).
 *
 * Without arguments it replays every file under
 * $top_srcdir/tests/fuzz/corpus/FUZZ_CORPUS; with arguments, the files and
 * directories named.  A crash the fuzzer finds becomes a regression test
 * by dropping the input into the corpus.  To be replaced by the project's
 * shared tests/fuzz/replay.c once that lands.
 */
#include "build.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
replay_file(const char *path)
{
	FILE	*fp;
	char	*buf = NULL;
	size_t	 cap = 0, len = 0, n;
	int	 rv = -1;

	if ((fp = fopen(path, "rb")) == NULL) {
		perror(path);
		return -1;
	}
	for (;;) {
		if (len == cap) {
			char *nb = realloc(buf, cap ? cap * 2 : 4096);

			if (nb == NULL)
				goto out;
			buf = nb;
			cap = cap ? cap * 2 : 4096;
		}
		if ((n = fread(buf + len, 1, cap - len, fp)) == 0)
			break;
		len += n;
	}
	if (ferror(fp))
		goto out;
	LLVMFuzzerTestOneInput((const uint8_t *)buf, len);
	rv = 0;
 out:
	free(buf);
	fclose(fp);
	return rv;
}

static int
replay(const char *path, int *n)
{
	struct stat	 st;
	struct dirent	*de;
	DIR		*d;
	char		 sub[4096];
	int		 rv = 0;

	if (stat(path, &st) == -1) {
		perror(path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		(*n)++;
		return replay_file(path);
	}
	if ((d = opendir(path)) == NULL) {
		perror(path);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		if (replay(sub, n) == -1)
			rv = -1;
	}
	closedir(d);
	return rv;
}

int
main(int argc, char *argv[])
{
	const char	*top = getenv("top_srcdir");
	char		 dir[4096];
	int		 i, n = 0, rv = 0;

	if (argc < 2) {
		snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/%s",
		    top ? top : ".", FUZZ_CORPUS);
		rv = replay(dir, &n);
	}
	for (i = 1; i < argc; i++)
		if (replay(argv[i], &n) == -1)
			rv = -1;
	printf("replayed %d inputs\n", n);
	return rv == 0 && n > 0 ? 0 : 1;
}
