#include "build.h"
/*
 * fuzz_control_http — bytes as the control socket's HTTP form reads them
 * (control_http.c), and the answer it writes for whatever reply results.
 *
 * control_http_parse() must ask for more, accept a request whose command
 * is "test", or refuse it with a status and a message; the reply built
 * from the parsed object (as if it were a test's answer) must be one
 * well-framed response.  Nothing may crash, leak or read past the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "control_http.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_object	*o = NULL, *c;
	const char		*msg = NULL;
	char			*out;
	size_t			 len;
	int			 r, status = 0;

	r = control_http_parse((const char *)data, size, 4096, &o, &status,
	    &msg);
	if (r == -1 && (status < 400 || status > 599 || msg == NULL))
		abort();
	if (r == 1) {
		if (!json_object_object_get_ex(o, "command", &c) ||
		    strcmp(json_object_get_string(c), "test") != 0)
			abort();
		/* Its members, read as a test's answer would be. */
		if ((out = control_http_reply(o, &len)) == NULL)
			abort();
		if (len < 17 || memcmp(out, "HTTP/1.1 ", 9) != 0 ||
		    memmem(out, len, "\r\n\r\n", 4) == NULL)
			abort();
		free(out);
	}
	json_object_put(o);
	return 0;
}
