/*
 * registry.h — what connector.c (the model) and registry.c (the loader)
 * share.  Not for other subsystems: they use connector.h.
 */
#ifndef WIDGETD_REGISTRY_H
#define WIDGETD_REGISTRY_H

#include "connector.h"

void		 conn_tmpl_clear(struct conn_tmpl *);
void		 conn_auth_clear(struct conn_auth *);
void		 conn_request_clear(struct conn_request *);
void		 connector_clear(struct connector *);
void		 composite_clear(struct composite *);
/* Build the sorted permalink indexes; -1 on memory exhaustion. */
int		 registry_index(struct registry *);

#endif
