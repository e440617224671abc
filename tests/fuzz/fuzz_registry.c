/*
 * fuzz_registry.c — libFuzzer target for the registry and Code Mode loader.
 *
 * Built with -DFUZZING_BUILD under --enable-fuzzing.  Otherwise the main()
 * below replays every file of the seed corpus (make check), or the files
 * and directories named on the command line, so a crash found by the
 * fuzzer becomes a regression test by dropping it into the corpus.
 */
#include "build.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "connector.h"
#include "netpolicy.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reg_report	 rep;
	struct netpolicy	 np;
	struct registry		*r;

	memset(&rep, 0, sizeof(rep));
	memset(&np, 0, sizeof(np));
	r = registry_load_buffer("fuzz.json", (const char *)data, size, NULL,
	    &rep);
	/* A registry either loads or explains why: never both, never neither. */
	if ((r == NULL) == (rep.rr_nerrors == 0))
		abort();
	registry_free(r);
	reg_report_clear(&rep);

	np.np_allow_http = 1;
	r = registry_load_codemode_buffer("fuzz.json", (const char *)data, size,
	    &np, &rep);
	if ((r == NULL) == (rep.rr_nerrors == 0))
		abort();
	registry_free(r);
	reg_report_clear(&rep);
	return 0;
}

#ifndef FUZZING_BUILD
static int
replay_file(const char *path)
{
	FILE	*fp;
	char	*buf;
	long	 len;

	if ((fp = fopen(path, "rb")) == NULL) {
		perror(path);
		return -1;
	}
	if (fseek(fp, 0, SEEK_END) == -1 || (len = ftell(fp)) < 0 ||
	    fseek(fp, 0, SEEK_SET) == -1 || (buf = malloc(len + 1)) == NULL) {
		fclose(fp);
		return -1;
	}
	if (fread(buf, 1, len, fp) != (size_t)len) {
		free(buf);
		fclose(fp);
		return -1;
	}
	fclose(fp);
	LLVMFuzzerTestOneInput((const uint8_t *)buf, len);
	free(buf);
	return 0;
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
		snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/registry",
		    top ? top : ".");
		rv = replay(dir, &n);
	}
	for (i = 1; i < argc; i++)
		if (replay(argv[i], &n) == -1)
			rv = -1;
	printf("replayed %d inputs\n", n);
	return rv == 0 && n > 0 ? 0 : 1;
}
#endif
