/*
 * extreg.h — extensions_registry.json: validation and the model the
 * publisher works from (platform-docs §21, SPEC §10 "Registry decisions").
 *
 * Library-style: no logging, no file system.  widgetctl check and the
 * publisher call the same function on the same bytes, so an author sees
 * exactly the errors a push would fail with.
 */
#ifndef WIDGETD_EXTREG_H
#define WIDGETD_EXTREG_H

#include <stddef.h>

struct json_object;

/* Build error codes (platform-docs §22), also used for registry errors. */
#define EXT_E_TRAVERSAL		"PATH_TRAVERSAL_DETECTED"
#define EXT_E_ABSOLUTE		"ABSOLUTE_PATH_NOT_ALLOWED"
#define EXT_E_SOURCE		"INVALID_SOURCE_SCHEMA"
#define EXT_E_ENTRY		"ENTRY_FILE_NOT_FOUND"
#define EXT_E_STRUCTURE		"INVALID_WIDGET_STRUCTURE"
#define EXT_E_MAXFILES		"MAX_FILES_EXCEEDED"
#define EXT_E_MAXSIZE		"MAX_SIZE_EXCEEDED"
#define EXT_E_SCAN		"CONTENT_SCAN_REJECTED"
#define EXT_E_FETCH		"GITHUB_FETCH_FAILED"
#define EXT_E_UPLOAD		"CDN_UPLOAD_FAILED"
#define EXT_E_TRANSFORM		"TRANSFORMATION_FAILED"
/*
 * widgetd's own: the "generic JSON-schema errors" of scripts, stylesheets,
 * import maps and the root; a file that is not JSON; connector sync.
 */
#define EXT_E_SCHEMA		"INVALID_REGISTRY_SCHEMA"
#define EXT_E_JSON		"INVALID_JSON"
#define EXT_E_CONNECTORS	"CONNECTOR_SYNC_FAILED"

/* One problem (or, ee_warning set, one advisory) in a registry. */
struct ext_error {
	char		*ee_file;
	int		 ee_line;	/* 0: no position */
	int		 ee_col;
	char		*ee_path;	/* "widgets[0].source.path", "" for root */
	const char	*ee_code;	/* EXT_E_* */
	char		*ee_msg;
	int		 ee_warning;
};

struct ext_report {
	struct ext_error *xr_items;
	size_t		 xr_n;
	size_t		 xr_nerrors;	/* items that are not warnings */
};
void		 ext_report_clear(struct ext_report *);
/*
 * "file:line:col: path: message [CODE]" per error, and
 * "file: warning: message" per advisory.
 */
void		 ext_report_print(const struct ext_report *, void *stdio_file);

/* --- The model (only built when the registry is valid) ------------------ */

struct ext_widget {
	char		*ew_type;
	char		*ew_title;
	char		*ew_path;	/* source.path, NULL for a content widget */
	char		*ew_entry;	/* source.entry */
	char		*ew_image;	/* a relative imageSrc, else NULL */
	size_t		 ew_index;	/* in widgets[] */
};

enum ext_placement { EXT_HEAD, EXT_BODY_START, EXT_BODY_END };

/* A script or a stylesheet. */
struct ext_asset {
	char		*ea_name;
	char		*ea_path;	/* repository path or URL */
	int		 ea_external;	/* ea_path is an http(s) URL */
	enum ext_placement ea_placement;
	size_t		 ea_index;
};

struct ext_registry {
	struct ext_widget *xg_widgets;
	size_t		 xg_nwidgets;
	struct ext_asset *xg_scripts;
	size_t		 xg_nscripts;
	struct ext_asset *xg_styles;
	size_t		 xg_nstyles;
	struct json_object *xg_json;	/* the whole document, as json-c */
	int		 xg_legacy;	/* read from widget_registry.json */
};

/*
 * Validate buf, named name in the report.  legacy: the file was found as
 * widget_registry.json (valid, with a warning).  Every error goes into rep;
 * the model comes back only when there is none (NULL otherwise).
 */
struct ext_registry *extreg_load_buffer(const char *name, const char *buf,
		    size_t len, int legacy, struct ext_report *rep);
void		 extreg_free(struct ext_registry *);

/*
 * 1 when base is one of the two registry file names (the legacy one sets
 * *legacy), else 0.
 */
int		 extreg_is_registry_name(const char *base, int *legacy);

/*
 * A repository path as the registry allows it: NULL when fine, else the
 * error code (EXT_E_ABSOLUTE or EXT_E_TRAVERSAL).  Leading / or \, any ".."
 * segment with / or \ as separators, before or after percent-decoding.
 */
const char	*extreg_path_check(const char *s, size_t len);

/*
 * A watched branch's name as platform-docs §24 allows it: letters, digits
 * and / _ - . only, no "..", not starting or ending with /, at most 255
 * bytes.  1 valid, 0 not (the configuration and the publisher both ask).
 */
int		 extreg_branch_valid(const char *);

#endif
