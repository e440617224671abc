/*
 * replay.c — main() of every fuzz target's replay program.
 *
 * tests/fuzz/fuzz_<name>.c defines LLVMFuzzerTestOneInput (and, if it
 * needs one, LLVMFuzzerInitialize) and nothing else.  Linked with
 * -fsanitize=fuzzer it is a libFuzzer binary; linked with this file it is
 * tests/fuzz/fuzz_<name>, which hands each file named on the command line,
 * or each file under each directory named, to the target once, as libFuzzer
 * would.  With no argument it replays $top_srcdir/tests/fuzz/corpus/<name>,
 * <name> taken from the program's own name, so that make check runs every
 * seed corpus and a crash becomes a regression test by dropping the input
 * into that directory.  Nothing replayed is a failure: it means a wrong
 * path, not a pass.
 */
#include "build.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);
/* Optional in a target, as in libFuzzer. */
int	LLVMFuzzerInitialize(int *, char ***) __attribute__((weak));

static const char	*replay_prog = "fuzz";

/* One input, in a buffer of exactly its size so that ASan sees overreads. */
static int
replay_file(const char *path, off_t size)
{
	FILE	*fp;
	uint8_t	*buf = NULL;
	size_t	 n;
	int	 rv = -1;

	if ((fp = fopen(path, "rb")) == NULL)
		goto out;
	if ((buf = malloc(size > 0 ? (size_t)size : 1)) == NULL)
		goto out;
	n = fread(buf, 1, (size_t)size, fp);
	if (ferror(fp) || n != (size_t)size) {
		errno = EIO;
		goto out;
	}
	/* Named first: if the target crashes, the log says on what. */
	fprintf(stderr, "%s: %s\n", replay_prog, path);
	LLVMFuzzerTestOneInput(buf, n);
	rv = 0;
 out:
	if (rv == -1)
		fprintf(stderr, "%s: %s: %s\n", replay_prog, path,
		    strerror(errno));
	free(buf);
	if (fp != NULL)
		fclose(fp);
	return rv;
}

/* A file, or every file below a directory in name order; dot files skipped. */
static int
replay_path(const char *path, int *count)
{
	struct dirent	**ents = NULL;
	struct stat	  st;
	char		 *sub;
	int		  i, n = 0, rv = 0;

	if (stat(path, &st) == -1) {
		fprintf(stderr, "%s: %s: %s\n", replay_prog, path,
		    strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		(*count)++;
		return replay_file(path, st.st_size);
	}
	if ((n = scandir(path, &ents, NULL, alphasort)) == -1) {
		fprintf(stderr, "%s: %s: %s\n", replay_prog, path,
		    strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (ents[i]->d_name[0] != '.') {
			if (asprintf(&sub, "%s/%s", path,
			    ents[i]->d_name) == -1) {
				rv = -1;
			} else {
				if (replay_path(sub, count) == -1)
					rv = -1;
				free(sub);
			}
		}
		free(ents[i]);
	}
	free(ents);
	return rv;
}

int
main(int argc, char *argv[])
{
	const char	*top, *name;
	char		*corpus = NULL;
	int		 i, count = 0, rv = 0;

	if ((replay_prog = strrchr(argv[0], '/')) != NULL)
		replay_prog++;
	else
		replay_prog = argv[0];
	if (LLVMFuzzerInitialize != NULL)
		LLVMFuzzerInitialize(&argc, &argv);

	if (argc > 1) {
		for (i = 1; i < argc; i++)
			if (replay_path(argv[i], &count) == -1)
				rv = -1;
	} else {
		/* The program fuzz_<name> replays tests/fuzz/corpus/<name>. */
		if (strncmp(replay_prog, "fuzz_", 5) != 0 ||
		    replay_prog[5] == '\0') {
			fprintf(stderr, "usage: fuzz_<name> [file | dir ...]\n");
			return 2;
		}
		name = replay_prog + 5;
		if ((top = getenv("top_srcdir")) == NULL)
			top = ".";
		if (asprintf(&corpus, "%s/tests/fuzz/corpus/%s", top,
		    name) == -1)
			return 1;
		rv = replay_path(corpus, &count);
		free(corpus);
	}
	printf("%s: replayed %d inputs\n", replay_prog, count);
	return rv == 0 && count > 0 ? 0 : 1;
}
