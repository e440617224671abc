/*
 * fuzz_config.c — libFuzzer target for the configuration reader and the
 * network policy's text parsers: each input is tried as a host, as a
 * network and as a whole widgetd.conf, written to a file in a private
 * temporary directory.  tests/fuzz/replay.c or libFuzzer supplies main().
 */
#include "build.h"

#include <sys/types.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "netpolicy.h"

int		 LLVMFuzzerInitialize(int *, char ***);
int		 LLVMFuzzerTestOneInput(const uint8_t *, size_t);
const char	*__lsan_default_suppressions(void);

static char	fuzz_dir[64];

static void
fuzz_cleanup(void)
{
	rmdir(fuzz_dir);
}

/*
 * libconfig 1.5 (Debian 12) drops its scanner's buffers when a syntax
 * error follows a string (corpus/config/leak-libconfig-*): not ours to
 * fix, and it would stop the fuzzer within a second.  LeakSanitizer calls
 * this; leaks of the settings config_load builds are still reported.
 */
const char *
__lsan_default_suppressions(void)
{
	return "leak:strbuf_append\nleak:libconfig_yylex\n";
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	snprintf(fuzz_dir, sizeof(fuzz_dir), "/tmp/fuzzconf.XXXXXX");
	if (mkdtemp(fuzz_dir) == NULL)
		abort();
	atexit(fuzz_cleanup);
	return 0;
}

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
