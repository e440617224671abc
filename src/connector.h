/*
 * connector.h — the connector model and its loader (platform-docs §3–§8, §20).
 *
 * Library-style: no logging, no process knowledge.  The worker and keeper
 * each load the same registry themselves; widgetctl check and widgetd -n use
 * the same loader and print the same report.
 *
 * connector.c owns the model; the full structures are defined there and in
 * this header as they grow.  Entry points below are the contract.
 */
#ifndef WIDGETD_CONNECTOR_H
#define WIDGETD_CONNECTOR_H

#include <stddef.h>

struct netpolicy;
struct registry;

/* One problem in a registry or Code Mode file. */
struct reg_error {
	char		*re_file;	/* the file, as given */
	int		 re_line;	/* JSON line:col, 0 when not applicable */
	int		 re_col;
	char		*re_connector;	/* "name (permalink)" or NULL */
	char		*re_path;	/* e.g. "connectors[3].headers[1].value" */
	char		*re_class;	/* e.g. "invalid_json", "missing_field",
					   "duplicate_permalink", "field_length",
					   "permalink_format", "auth_config",
					   "url", "template", "path_parameters" */
	char		*re_msg;
};

struct reg_report {
	struct reg_error *rr_errors;
	size_t		 rr_nerrors;
};
void		 reg_report_clear(struct reg_report *);
/* Print every error as "file:line:col: connector: path: message". */
void		 reg_report_print(const struct reg_report *, void *stdio_file);

/*
 * Load a connectors_registry.json (all-or-nothing: NULL and every error in
 * rep when anything is wrong).  policy decides which literal hosts load.
 */
struct registry	*registry_load_file(const char *path, const struct netpolicy *,
		    struct reg_report *rep);
struct registry	*registry_load_buffer(const char *name, const char *buf,
		    size_t len, const struct netpolicy *, struct reg_report *rep);
/* Load one Code Mode JSON file as a registry holding one connector. */
struct registry	*registry_load_codemode(const char *path,
		    const struct netpolicy *, struct reg_report *rep);
void		 registry_free(struct registry *);

size_t		 registry_nconnectors(const struct registry *);
size_t		 registry_ncomposites(const struct registry *);

#endif
