#include "build.h"
/*
 * fuzz_control — bytes as they arrive on the control socket, and as
 * widgetctl reads them back.
 *
 * The input is taken twice: as one request line through control_parse(),
 * which must accept a JSON object with a well-formed command or refuse with
 * a message, and as a reply printed by widgetctl status, whose tables must
 * cope with any member of any type.  Nothing here may crash, leak or read
 * beyond the input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "control.h"
#include "widgetctl.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE		*devnull;
	struct json_tokener	*tok;
	struct json_object	*o;
	const char		*command;
	char			 err[256];

	if (devnull == NULL && (devnull = fopen("/dev/null", "w")) == NULL)
		abort();
	if (control_parse((const char *)data, size, &o, &command, err,
	    sizeof(err)) == 0) {
		/* What the handler is promised. */
		if (strlen(command) == 0 || strlen(command) > CONTROL_COMMAND_MAX)
			abort();
		ctl_status_print(devnull, o);
		json_object_put(o);
	} else if (strncmp(err, "malformed request: ", 19) != 0 &&
	    strcmp(err, "out of memory") != 0)
		abort();
	/* Any object as a status reply, command or not, strict or not. */
	if ((tok = json_tokener_new()) == NULL)
		return 0;
	o = json_tokener_parse_ex(tok, (const char *)data, size);
	if (json_object_is_type(o, json_type_object))
		ctl_status_print(devnull, o);
	json_object_put(o);
	json_tokener_free(tok);
	return 0;
}
