/*
 * fuzz_config.c — libFuzzer target for the configuration reader and the
 * network policy's text parsers: each input is tried as a host, as a
 * network and as a whole widgetd.conf.  Built without -DFUZZ_LIBFUZZER it
 * is a replay program that runs a corpus in `make check`.
 */
#include "build.h"

#include <sys/types.h>
#include <dirent.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "netpolicy.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char	fuzz_dir[64];

static void
fuzz_report(const char *msg, void *arg)
{
	size_t	*n = arg;

	/* Every message must name a location: the file's path comes first. */
	if (strncmp(msg, fuzz_dir, strlen(fuzz_dir)) != 0)
		abort();
	(*n)++;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct netpolicy_net	 net;
	struct widgetd_config	*c;
	char			*s, path[128];
	const char		*why;
	size_t			 nmsg = 0;
	FILE			*fp;
	int			 fd;

	if (fuzz_dir[0] == '\0') {
		snprintf(fuzz_dir, sizeof(fuzz_dir), "/tmp/fuzzconf.XXXXXX");
		if (mkdtemp(fuzz_dir) == NULL)
			abort();
	}
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	/* A refusal always says why; an allowed host never does. */
	why = NULL;
	if (netpolicy_host_allowed(NULL, s, &why) != (why == NULL))
		abort();
	if (netpolicy_parse_net(s, &net) &&
	    (net.n_prefix < 0 || net.n_prefix > (net.n_family == AF_INET ?
	    32 : 128)))
		abort();

	snprintf(path, sizeof(path), "%s/conf.XXXXXX", fuzz_dir);
	if ((fd = mkstemp(path)) == -1)
		abort();
	if ((fp = fdopen(fd, "w")) == NULL)
		abort();
	fwrite(data, 1, size, fp);
	fclose(fp);
	c = config_load(path, fuzz_report, &nmsg);
	/* NULL exactly when something was reported. */
	if ((c == NULL) != (nmsg > 0))
		abort();
	config_free(c);
	unlink(path);
	free(s);
	return 0;
}

#ifndef FUZZ_LIBFUZZER
static int
fuzz_replay_file(const char *path)
{
	FILE		*fp;
	uint8_t		*buf;
	long		 n;

	if ((fp = fopen(path, "rb")) == NULL) {
		perror(path);
		return 1;
	}
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	if (n < 0 || (buf = malloc(n + 1)) == NULL ||
	    fread(buf, 1, n, fp) != (size_t)n) {
		fprintf(stderr, "%s: read failed\n", path);
		fclose(fp);
		return 1;
	}
	fclose(fp);
	LLVMFuzzerTestOneInput(buf, n);
	free(buf);
	return 0;
}

/* Replay: the files named, or every file of $top_srcdir/fuzz/corpus/config. */
int
main(int argc, char *argv[])
{
	const char	*top = getenv("top_srcdir");
	char		 dir[PATH_MAX], path[PATH_MAX + 256];
	struct dirent	*de;
	DIR		*d;
	int		 i, rc = 0, n = 0;

	if (argc > 1) {
		for (i = 1; i < argc; i++)
			rc |= fuzz_replay_file(argv[i]);
		n = argc - 1;
	} else {
		snprintf(dir, sizeof(dir), "%s/fuzz/corpus/config",
		    top != NULL ? top : ".");
		if ((d = opendir(dir)) == NULL) {
			perror(dir);
			return 1;
		}
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			rc |= fuzz_replay_file(path);
			n++;
		}
		closedir(d);
	}
	if (fuzz_dir[0] != '\0')
		rmdir(fuzz_dir);
	printf("replayed %d inputs\n", n);
	return rc != 0 || n == 0;
}
#endif
