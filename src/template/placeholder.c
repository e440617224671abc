/* placeholder.c — keeps the engine library non-empty until it lands. */
#include "template.h"

int	tmpl_placeholder;
