/*
 * fuzz_logline.c — libFuzzer target for the parent's cleaning of a child's
 * log line (log_child_line in log.c).  Whatever the child sent, the line
 * written starts with the parent's origin, holds no control byte and no
 * UTF-8 C1 control, fits its buffer, and is not longer than the cap.
 */
#include "build.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char	 origin[] = "worker 7: ";
	char			 in[LOG_CHILD_MAX * 4 + 1], out[LOG_CHILD_LINE];
	size_t			 n, i;

	/* A child's line arrives NUL-terminated (ipc_get_str). */
	if (size >= sizeof(in))
		size = sizeof(in) - 1;
	memcpy(in, data, size);
	in[size] = '\0';
	n = log_child_line(out, sizeof(out), "worker 7", in);
	if (n != strlen(out) || n >= sizeof(out) ||
	    strncmp(out, origin, sizeof(origin) - 1) != 0 ||
	    n > sizeof(origin) - 1 + LOG_CHILD_MAX + sizeof(" [cut]") - 1)
		abort();
	for (i = 0; i < n; i++) {
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			abort();
		if ((unsigned char)out[i] == 0xc2 && i + 1 < n &&
		    (unsigned char)out[i + 1] >= 0x80 &&
		    (unsigned char)out[i + 1] <= 0x9f)
			abort();
	}
	return 0;
}
