/*
 * check_extreg.c — the extensions_registry.json validator (platform-docs
 * §21, SPEC §10): a corpus of documents, every rule valid and invalid, each
 * invalid one pinned to its error code, attribute path and line:col.
 *
 * Documents are written with ` for " and carry one | just before the byte
 * the error must point at; doc_prepare() swaps the quotes, removes the |
 * and computes the expected line:col from where it stood, so that no
 * position in this table is counted by hand.
 */
#include "build.h"

#include "check_main.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extreg.h"

#define WB	"`title`:`T`,`type`:`acme_banner`,`category`:`c`"
#define SRC	"`source`:{`path`:`widgets/banner`,`entry`:`index.html`}"
/* One source widget with extra members. */
#define W1(x)	"{`widgets`:[{" WB "," SRC x "}]}"
/* One content widget. */
#define WC(c)	"{`widgets`:[{" WB ",`content`:{" c "}}]}"
#define EP	"`endpoint`:`https://api.example.com/w`"
/* One widget with one configuration field. */
#define CF(f)	W1(",`configuration`:{`properties`:[{`name`:`n`,`label`:`L`," \
		    "`type`:`text`" f "}]}")
/* dynamicOptions of that field. */
#define DYN(d)	CF(",`dynamicOptions`:{" d "}")
#define S1(x)	"{`scripts`:[{`name`:`acme-a`,`path`:`scripts/a.js`" x "}]}"
#define SP(p)	"{`scripts`:[{`name`:`acme-a`,`path`:" p "}]}"
#define CSS(p)	"{`stylesheets`:[{`name`:`acme-a`,`path`:" p "}]}"
#define RULE(r)	S1(",`rules`:[" r "]")
#define IM(m)	"{`importMaps`:[" m "]}"
#define UNPKG	"`https://unpkg.com/vue@3/dist/vue.esm-browser.js`"

#define TRAV	"PATH_TRAVERSAL_DETECTED"
#define ABS	"ABSOLUTE_PATH_NOT_ALLOWED"
#define SRCE	"INVALID_SOURCE_SCHEMA"
#define STR	"INVALID_WIDGET_STRUCTURE"
#define SCH	"INVALID_REGISTRY_SCHEMA"
#define JSON	"INVALID_JSON"

struct doc {
	const char	*d_json;
	const char	*d_code;	/* NULL: valid */
	const char	*d_path;
};

static const struct doc docs[] = {
	/* --- root ------------------------------------------------------------ */
	{ "{}", NULL, NULL },
	{ "{`widgets`:[],`scripts`:[],`stylesheets`:[],`importMaps`:[]}", NULL,
	    NULL },
	{ "|[]", SCH, "" },
	{ "|`widgets`", SCH, "" },
	{ "{|`widget`:[]}", SCH, "widget" },
	{ "{|`connectors`:[]}", SCH, "connectors" },
	{ "{`widgets`:|{}}", SCH, "widgets" },
	{ "{`widgets`:|null}", SCH, "widgets" },
	{ "{`scripts`:|`x`}", SCH, "scripts" },
	{ "{`stylesheets`:|true}", SCH, "stylesheets" },
	{ "{`importMaps`:|5}", SCH, "importMaps" },
	{ "{`widgets`:[],|`widgets`:[]}", SCH, "widgets" },
	{ "{`widgets`:[|3]}", STR, "widgets[0]" },
	/* --- strict JSON (SPEC §9, §10) ---------------------------------------- */
	{ "{`widgets`:[],|}", JSON, "" },
	{ "{`widgets`:[1,|]}", JSON, "" },
	{ "{|'widgets':[]}", JSON, "" },
	{ "{|// c\n`widgets`:[]}", JSON, "" },
	{ "{`widgets`:\n  [\n    |NaN]}", JSON, "" },
	{ "{`widgets`:[|01]}", JSON, "" },
	{ "{`widgets`:[`a|\tb`]}", JSON, "" },
	{ "{`widgets`:[`a|\xff`]}", JSON, "" },
	{ "{`widgets`:[]}|x", JSON, "" },
	{ "|", JSON, "" },
	/* --- widget: required fields --------------------------------------- */
	{ W1(""), NULL, NULL },
	{ "{`widgets`:[|{`type`:`t`,`category`:`c`," SRC "}]}", STR,
	    "widgets[0].title" },
	{ "{`widgets`:[|{`title`:`T`,`category`:`c`," SRC "}]}", STR,
	    "widgets[0].type" },
	{ "{`widgets`:[|{`title`:`T`,`type`:`t`," SRC "}]}", STR,
	    "widgets[0].category" },
	{ "{`widgets`:[{`title`:|``,`type`:`t`,`category`:`c`," SRC "}]}", STR,
	    "widgets[0].title" },
	{ "{`widgets`:[{`title`:|null,`type`:`t`,`category`:`c`," SRC "}]}",
	    STR, "widgets[0].title" },
	{ "{`widgets`:[{`title`:|7,`type`:`t`,`category`:`c`," SRC "}]}", STR,
	    "widgets[0].title" },
	{ "{`widgets`:[{`title`:`T`,`type`:|[],`category`:`c`," SRC "}]}", STR,
	    "widgets[0].type" },
	{ "{`widgets`:[{`title`:`T`,`type`:`t`,`category`:|``," SRC "}]}", STR,
	    "widgets[0].category" },
	{ "{`widgets`:[{`title`:|`a\\u0000b`,`type`:`t`,`category`:`c`," SRC
	    "}]}", STR, "widgets[0].title" },
	{ W1(",|`colour`:`red`"), STR, "widgets[0].colour" },
	{ W1(",|`entry`:`index.html`"), STR, "widgets[0].entry" },
	/* --- widget: content XOR source -------------------------------------- */
	{ "{`widgets`:[|{" WB "," SRC ",`content`:{" EP "}}]}", SRCE,
	    "widgets[0]" },
	{ "{`widgets`:[|{" WB "}]}", SRCE, "widgets[0]" },
	{ "{`widgets`:[{" WB ",`source`:|`widgets/banner`}]}", SRCE,
	    "widgets[0].source" },
	{ "{`widgets`:[{" WB ",`source`:|{`entry`:`index.html`}}]}", SRCE,
	    "widgets[0].source.path" },
	{ "{`widgets`:[{" WB ",`source`:|{`path`:`w`}}]}", SRCE,
	    "widgets[0].source.entry" },
	{ "{`widgets`:[{" WB ",`source`:{`path`:`w`,`entry`:|`index.js`}}]}",
	    SRCE, "widgets[0].source.entry" },
	{ "{`widgets`:[{" WB ",`source`:{`path`:`w`,`entry`:`i.html`,"
	    "|`main`:`x`}}]}", SRCE, "widgets[0].source.main" },
	{ "{`widgets`:[{" WB ",`source`:{`path`:`w`,`entry`:`pages/i.HTM`}}]}",
	    NULL, NULL },
	/* --- repository paths -------------------------------------------------- */
#define SPATH(p)	"{`widgets`:[{" WB ",`source`:{`path`:" p \
			    ",`entry`:`index.html`}}]}"
	{ SPATH("`./widgets/banner`"), NULL, NULL },
	{ SPATH("`..banner`"), NULL, NULL },
	{ SPATH("`a/b..c/d..`"), NULL, NULL },
	{ SPATH("`a/.../b`"), NULL, NULL },
	{ SPATH("|`/srv/w`"), ABS, "widgets[0].source.path" },
	{ SPATH("|`\\\\w`"), ABS, "widgets[0].source.path" },
	{ SPATH("|`C:/w`"), ABS, "widgets[0].source.path" },
	{ SPATH("|`%2fetc`"), ABS, "widgets[0].source.path" },
	{ SPATH("|`%5Cw`"), ABS, "widgets[0].source.path" },
	{ SPATH("|`../w`"), TRAV, "widgets[0].source.path" },
	{ SPATH("|`..`"), TRAV, "widgets[0].source.path" },
	{ SPATH("|`a/..`"), TRAV, "widgets[0].source.path" },
	{ SPATH("|`a/../b`"), TRAV, "widgets[0].source.path" },
	{ SPATH("|`a\\\\..\\\\b`"), TRAV, "widgets[0].source.path" },
	{ SPATH("|`a/..\\\\b`"), TRAV, "widgets[0].source.path" },
	{ SPATH("|`%2e%2e/w`"), TRAV, "widgets[0].source.path" },
	{ SPATH("|`%2E%2E%2Fw`"), TRAV, "widgets[0].source.path" },
	{ SPATH("|`..%2fw`"), TRAV, "widgets[0].source.path" },
	{ SPATH("|`..%5cw`"), TRAV, "widgets[0].source.path" },
	{ SPATH("|`a/%2e./b`"), TRAV, "widgets[0].source.path" },
	{ SPATH("|`%252e%252e/w`"), TRAV, "widgets[0].source.path" },
	{ SPATH("|`%25252e%25252e%25252fw`"), TRAV, "widgets[0].source.path" },
	{ SPATH("|`a%00b`"), TRAV, "widgets[0].source.path" },
	{ SPATH("|`\\u002e\\u002e/w`"), TRAV, "widgets[0].source.path" },
	{ SPATH("`100%`"), NULL, NULL },
	{ SPATH("`a%zz`"), NULL, NULL },
	{ "{`widgets`:[{" WB ",`source`:{`path`:`w`,`entry`:|`../i.html`}}]}",
	    TRAV, "widgets[0].source.entry" },
	{ "{`widgets`:[{" WB ",`source`:{`path`:`w`,`entry`:|`/i.html`}}]}",
	    ABS, "widgets[0].source.entry" },
	/* --- widget: optional fields ----------------------------------------- */
	{ W1(",`version`:`1.0.0`"), NULL, NULL },
	{ W1(",`version`:`10.20.30-alpha.1+build.5`"), NULL, NULL },
	{ W1(",`version`:`1.0.0-0.3.7`"), NULL, NULL },
	{ W1(",`version`:`1.0.0-x-y-z.--`"), NULL, NULL },
	{ W1(",`version`:|`1.0`"), STR, "widgets[0].version" },
	{ W1(",`version`:|`01.0.0`"), STR, "widgets[0].version" },
	{ W1(",`version`:|`1.0.0-01`"), STR, "widgets[0].version" },
	{ W1(",`version`:|`v1.0.0`"), STR, "widgets[0].version" },
	{ W1(",`version`:|`1.0.0+`"), STR, "widgets[0].version" },
	{ W1(",`version`:|`1.0.0-a..b`"), STR, "widgets[0].version" },
	{ W1(",`version`:|1"), STR, "widgets[0].version" },
	{ W1(",`description`:``"), NULL, NULL },
	{ W1(",`description`:|{}"), STR, "widgets[0].description" },
	{ W1(",`containers`:[`Full width`,`Left container`,`Sidebar`]"), NULL,
	    NULL },
	{ W1(",`containers`:[`Sidebar`,|`sidebar`]"), STR,
	    "widgets[0].containers[1]" },
	{ W1(",`containers`:[|1]"), STR, "widgets[0].containers[0]" },
	{ W1(",`containers`:|`Sidebar`"), STR, "widgets[0].containers" },
	{ W1(",`widgetsLibrary`:false"), NULL, NULL },
	{ W1(",`widgetsLibrary`:|`yes`"), STR, "widgets[0].widgetsLibrary" },
	{ W1(",`imageName`:`banner`"), NULL, NULL },
	{ W1(",`imageName`:|5"), STR, "widgets[0].imageName" },
	{ W1(",`imageSrc`:`https://cdn.example.com/t.png`"), NULL, NULL },
	{ W1(",`imageSrc`:`img/thumb.png`"), NULL, NULL },
	{ W1(",`imageSrc`:|`../thumb.png`"), TRAV, "widgets[0].imageSrc" },
	{ W1(",`imageSrc`:|`/thumb.png`"), ABS, "widgets[0].imageSrc" },
	{ W1(",`imageSrc`:|`javascript:alert(1)`"), STR,
	    "widgets[0].imageSrc" },
	{ W1(",`imageSrc`:|`ftp://example.com/t.png`"), STR,
	    "widgets[0].imageSrc" },
	{ W1(",`imageSrc`:|``"), STR, "widgets[0].imageSrc" },
	{ W1(",`settings`:{}"), NULL, NULL },
	{ W1(",`settings`:{`configurable`:true,`editable`:false,`removable`:"
	    "true,`movable`:true,`shared`:false,`container`:true}"), NULL, NULL },
	{ W1(",`settings`:{|`resizable`:true}"), STR,
	    "widgets[0].settings.resizable" },
	{ W1(",`settings`:{`shared`:|`true`}"), STR,
	    "widgets[0].settings.shared" },
	{ W1(",|`shared`:true"), STR, "widgets[0].shared" },
	{ W1(",`settings`:|[]"), STR, "widgets[0].settings" },
	{ W1(",`defaultConfig`:{`n`:1,`x`:[{}]}"), NULL, NULL },
	{ W1(",`defaultConfig`:|[]"), STR, "widgets[0].defaultConfig" },
	{ "{`widgets`:[{" WB "," SRC "},{`title`:`T2`,`type`:|`acme_banner`,"
	    "`category`:`c`," SRC "}]}", STR, "widgets[1].type" },
	{ "{`widgets`:[{" WB "," SRC "},{`title`:`T2`,`type`:`acme_banner2`,"
	    "`category`:`c`," SRC "}]}", NULL, NULL },
	/* --- content --------------------------------------------------------- */
	{ WC(EP), NULL, NULL },
	{ WC(EP ",`method`:`POST`,`body`:{`a`:1},`headers`:{`Accept`:`x`},"
	    "`params`:{`q`:`1`},`cacheStrategy`:`ttl`,`cacheTtlSeconds`:60,"
	    "`requiresAuthentication`:false"), NULL, NULL },
	{ WC(EP ",`cacheStrategy`:`none`"), NULL, NULL },
	{ WC(EP ",`cacheStrategy`:`no-cache`"), NULL, NULL },
	{ WC(EP ",`cacheStrategy`:`permanent`"), NULL, NULL },
	{ WC(EP ",`cacheTtlSeconds`:1.0,`cacheStrategy`:`ttl`"), NULL, NULL },
	{ "{`widgets`:[{" WB ",`content`:|{`method`:`GET`}}]}", SRCE,
	    "widgets[0].content.endpoint" },
	{ WC("`endpoint`:|`http://api.example.com/w`"), SRCE,
	    "widgets[0].content.endpoint" },
	{ WC("`endpoint`:|`https://`"), SRCE, "widgets[0].content.endpoint" },
	{ WC("`endpoint`:|`https:///x`"), SRCE, "widgets[0].content.endpoint" },
	{ WC("`endpoint`:|`HTTPS://api.example.com/`"), SRCE,
	    "widgets[0].content.endpoint" },
	{ WC("`endpoint`:|`https://api.example.com/a b`"), SRCE,
	    "widgets[0].content.endpoint" },
	{ WC(EP ",`method`:|`PUT`"), SRCE, "widgets[0].content.method" },
	{ WC(EP ",`method`:|`get`"), SRCE, "widgets[0].content.method" },
	{ WC(EP ",`cacheStrategy`:|`forever`"), SRCE,
	    "widgets[0].content.cacheStrategy" },
	{ "{`widgets`:[{" WB ",`content`:|{" EP ",`cacheStrategy`:`ttl`}}]}",
	    SRCE, "widgets[0].content.cacheTtlSeconds" },
	{ WC(EP ",`cacheStrategy`:`ttl`,`cacheTtlSeconds`:|0"), SRCE,
	    "widgets[0].content.cacheTtlSeconds" },
	{ WC(EP ",`cacheStrategy`:`ttl`,`cacheTtlSeconds`:|1.5"), SRCE,
	    "widgets[0].content.cacheTtlSeconds" },
	{ WC(EP ",`cacheStrategy`:`ttl`,`cacheTtlSeconds`:|`60`"), SRCE,
	    "widgets[0].content.cacheTtlSeconds" },
	{ WC(EP ",`cacheStrategy`:`ttl`,`cacheTtlSeconds`:|1e99"), SRCE,
	    "widgets[0].content.cacheTtlSeconds" },
	{ WC(EP ",`requiresAuthentication`:|true"), SRCE,
	    "widgets[0].content.requiresAuthentication" },
	{ WC(EP ",`headers`:{`X-A`:|1}"), SRCE,
	    "widgets[0].content.headers[\"X-A\"]" },
	{ WC(EP ",`params`:|[]"), SRCE, "widgets[0].content.params" },
	{ WC(EP ",|`url`:`https://x.example/`"), SRCE,
	    "widgets[0].content.url" },
	/* --- configuration ----------------------------------------------------- */
	{ CF(""), NULL, NULL },
	{ W1(",`configuration`:{`properties`:[]}"), NULL, NULL },
	{ W1(",`configuration`:{`properties`:|{}}"), STR,
	    "widgets[0].configuration.properties" },
	{ W1(",`configuration`:|{`sections`:[]}"), STR,
	    "widgets[0].configuration.properties" },
	{ W1(",`configuration`:{`properties`:[],|`fields`:[]}"), STR,
	    "widgets[0].configuration.fields" },
	{ W1(",`configuration`:{`properties`:[|`n`]}"), STR,
	    "widgets[0].configuration.properties[0]" },
	{ W1(",`configuration`:{`properties`:[|{`name`:`n`,`type`:`text`}]}"),
	    STR, "widgets[0].configuration.properties[0].label" },
	{ W1(",`configuration`:{`properties`:[|{`label`:`L`,`type`:`text`}]}"),
	    STR, "widgets[0].configuration.properties[0].name" },
	{ W1(",`configuration`:{`properties`:[|{`name`:`n`,`label`:`L`}]}"),
	    STR, "widgets[0].configuration.properties[0].type" },
	{ W1(",`configuration`:{`properties`:[{`name`:`n`,`label`:`L`,"
	    "`type`:|`Text`}]}"), STR,
	    "widgets[0].configuration.properties[0].type" },
	{ W1(",`configuration`:{`properties`:[{`name`:`a`,`label`:`L`,"
	    "`type`:`number`},{`name`:`b`,`label`:`L`,`type`:`color`},"
	    "{`name`:`c`,`label`:`L`,`type`:`date`},{`name`:`d`,`label`:`L`,"
	    "`type`:`boolean`},{`name`:`e`,`label`:`L`,`type`:`select`,"
	    "`options`:[`x`,1,true,{`label`:`Y`,`value`:`y`}],`multiple`:true,"
	    "`sortable`:false},{`name`:`f`,`label`:`L`,`type`:`autocomplete`}]}"),
	    NULL, NULL },
	{ W1(",`configuration`:{`properties`:[{`name`:`a`,`label`:`L`,"
	    "`type`:`text`},{`name`:|`a`,`label`:`L`,`type`:`text`}]}"), STR,
	    "widgets[0].configuration.properties[1].name" },
	{ CF(",`description`:`d`,`defaultValue`:{`x`:1},`rules`:{`required`:"
	    "true,`minLength`:0,`maxLength`:10,`pattern`:`a+`,`minimum`:-1.5,"
	    "`maximum`:9}"), NULL, NULL },
	{ CF(",`rules`:{`minLength`:|-1}"),
	    STR, "widgets[0].configuration.properties[0].rules.minLength" },
	{ CF(",`rules`:{`maxLength`:|2.5}"),
	    STR, "widgets[0].configuration.properties[0].rules.maxLength" },
	{ CF(",`rules`:{`minLength`:5,`maxLength`:|4}"),
	    STR, "widgets[0].configuration.properties[0].rules.maxLength" },
	{ CF(",`rules`:{`required`:|`yes`}"),
	    STR, "widgets[0].configuration.properties[0].rules.required" },
	{ CF(",`rules`:{`minimum`:|`0`}"),
	    STR, "widgets[0].configuration.properties[0].rules.minimum" },
	{ CF(",`rules`:{|`min`:1}"),
	    STR, "widgets[0].configuration.properties[0].rules.min" },
	{ CF(",`options`:[|[]]"),
	    STR, "widgets[0].configuration.properties[0].options[0]" },
	{ CF(",`options`:[|{`label`:`x`}]"),
	    STR, "widgets[0].configuration.properties[0].options[0]" },
	{ CF(",`multiple`:|1"),
	    STR, "widgets[0].configuration.properties[0].multiple" },
	{ CF(",|`required`:true"),
	    STR, "widgets[0].configuration.properties[0].required" },
	{ W1(",`configuration`:{`sections`:[{`name`:`s`,`label`:`S`,"
	    "`description`:`d`,`expanded`:true}],`properties`:[{`name`:`n`,"
	    "`label`:`L`,`type`:`text`,`section`:`s`}]}"), NULL, NULL },
	{ W1(",`configuration`:{`sections`:[|{`name`:`s`}],`properties`:[]}"),
	    STR, "widgets[0].configuration.sections[0].label" },
	{ W1(",`configuration`:{`sections`:[|{`label`:`S`}],`properties`:[]}"),
	    STR, "widgets[0].configuration.sections[0].name" },
	{ W1(",`configuration`:{`sections`:[{`name`:`s`,`label`:`S`},{`name`:"
	    "|`s`,`label`:`T`}],`properties`:[]}"), STR,
	    "widgets[0].configuration.sections[1].name" },
	{ W1(",`configuration`:{`sections`:[{`name`:`s`,`label`:`S`,"
	    "`expanded`:|`no`}],`properties`:[]}"), STR,
	    "widgets[0].configuration.sections[0].expanded" },
	{ W1(",`configuration`:{`properties`:[{`name`:`n`,`label`:`L`,"
	    "`type`:`text`,`section`:|`missing`}]}"), STR,
	    "widgets[0].configuration.properties[0].section" },
	/* --- dynamicOptions --------------------------------------------------- */
#define DP	"widgets[0].configuration.properties[0].dynamicOptions"
	{ DYN("`endpoint`:{`endpoint`:`https://api.example.com/s?q={q}`}"),
	    NULL, NULL },
	{ DYN("`endpoint`:{`endpoint`:`https://api.example.com/s`,`method`:"
	    "`POST`,`headers`:{`Accept`:`application/json`},`body`:{`q`:1},"
	    "`params`:{`q`:`{q}`}},`valuesEndpoint`:{`endpoint`:"
	    "`https://api.example.com/v/{value}`},`mapping`:{`path`:`items`,"
	    "`valueKey`:`id`,`labelKey`:`name`},`isAsyncSearch`:true"),
	    NULL, NULL },
	{ CF(",`dynamicOptions`:|{`isAsyncSearch`:true}"), STR,
	    DP ".endpoint" },
	{ DYN("`endpoint`:{`endpoint`:|`http://api.example.com/s`}"), STR,
	    DP ".endpoint.endpoint" },
	{ DYN("`endpoint`:{`endpoint`:|`https://api.example.com/{query}`}"),
	    STR, DP ".endpoint.endpoint" },
	{ DYN("`endpoint`:{`endpoint`:|`https://api.example.com/{q`}"),
	    STR, DP ".endpoint.endpoint" },
	{ DYN("`endpoint`:{`endpoint`:`https://api.example.com/`,`params`:"
	    "{`a`:|`{id}`}}"), STR, DP ".endpoint.params.a" },
	{ DYN("`endpoint`:{`endpoint`:`https://api.example.com/`,`params`:"
	    "{`a`:|1}}"), STR, DP ".endpoint.params.a" },
	{ DYN("`endpoint`:{`endpoint`:`https://api.example.com/`,`headers`:"
	    "{|`Authorization`:`Bearer x`}}"), STR,
	    DP ".endpoint.headers.Authorization" },
	{ DYN("`endpoint`:{`endpoint`:`https://api.example.com/`,`headers`:"
	    "{|`cookie`:`a=b`}}"), STR, DP ".endpoint.headers.cookie" },
	{ DYN("`endpoint`:{`endpoint`:`https://api.example.com/`,`headers`:"
	    "{|`SET-COOKIE`:`a=b`}}"), STR, DP ".endpoint.headers[\"SET-COOKIE\"]" },
	{ DYN("`endpoint`:{`endpoint`:`https://api.example.com/`,`headers`:"
	    "{|`Proxy-Authorization`:`x`}}"), STR,
	    DP ".endpoint.headers[\"Proxy-Authorization\"]" },
	{ DYN("`endpoint`:{`endpoint`:`https://api.example.com/`,`headers`:"
	    "{|`x-FORWARDED-for`:`x`}}"), STR,
	    DP ".endpoint.headers[\"x-FORWARDED-for\"]" },
	{ DYN("`endpoint`:{`endpoint`:`https://api.example.com/`,`headers`:"
	    "{`X-Forwarded`:`x`,`Proxy`:`y`}}"), NULL, NULL },
	{ DYN("`endpoint`:{`endpoint`:`https://api.example.com/`,`method`:"
	    "|`PUT`}"), STR, DP ".endpoint.method" },
	{ DYN("`endpoint`:{`endpoint`:`https://api.example.com/`},"
	    "`valuesEndpoint`:{`endpoint`:|`ftp://x/`}"), STR,
	    DP ".valuesEndpoint.endpoint" },
	{ DYN("`endpoint`:{`endpoint`:`https://api.example.com/`},`mapping`:"
	    "{|`value`:`id`}"), STR, DP ".mapping.value" },
	{ DYN("`endpoint`:{`endpoint`:`https://api.example.com/`},`mapping`:"
	    "{`labelKey`:|2}"), STR, DP ".mapping.labelKey" },
	{ DYN("`endpoint`:{`endpoint`:`https://api.example.com/`},"
	    "`isAsyncSearch`:|`true`"), STR, DP ".isAsyncSearch" },
	{ DYN("`endpoint`:{`endpoint`:`https://api.example.com/`,"
	    "|`cache`:true}"), STR, DP ".endpoint.cache" },
	/* --- scripts and stylesheets ---------------------------------------- */
	{ S1(""), NULL, NULL },
	{ S1(",`description`:`d`,`placement`:`bodyEnd`,`attributes`:"
	    "{`defer`:``,`data-x`:`1`}"), NULL, NULL },
	{ SP("`https://cdn.jsdelivr.net/npm/x@1/dist/x.min.js`"), NULL, NULL },
	{ SP("`http://static.example.com/a.js?v=2#x`"), NULL, NULL },
	{ SP("`scripts/A.JS`"), NULL, NULL },
	{ "{`scripts`:[|{`path`:`a.js`}]}", SCH, "scripts[0].name" },
	{ "{`scripts`:[{`name`:|`-a`,`path`:`a.js`}]}", SCH, "scripts[0].name" },
	{ "{`scripts`:[{`name`:|`a b`,`path`:`a.js`}]}", SCH,
	    "scripts[0].name" },
	{ "{`scripts`:[{`name`:|`a/b`,`path`:`a.js`}]}", SCH,
	    "scripts[0].name" },
	{ "{`scripts`:[{`name`:`a.b_c-1`,`path`:`a.js`}]}", NULL, NULL },
	{ "{`scripts`:[|{`name`:`a`}]}", SCH, "scripts[0].path" },
	{ SP("|`scripts/a.css`"), SCH, "scripts[0].path" },
	{ SP("|`scripts/a.js.map`"), SCH, "scripts[0].path" },
	{ SP("|`/a.js`"), ABS, "scripts[0].path" },
	{ SP("|`../a.js`"), TRAV, "scripts[0].path" },
	{ SP("|`%2e%2e/a.js`"), TRAV, "scripts[0].path" },
	{ SP("|`ftp://x.example/a.js`"), SCH, "scripts[0].path" },
	{ SP("|`https:///a.js`"), SCH, "scripts[0].path" },
	{ SP("|`//cdn.example.com/a.js`"), SCH, "scripts[0].path" },
	{ SP("|`https://x.example/a`"), SCH, "scripts[0].path" },
	{ S1(",`placement`:|`footer`"), SCH, "scripts[0].placement" },
	{ S1(",`placement`:|`BodyEnd`"), SCH, "scripts[0].placement" },
	{ S1(",`attributes`:{`defer`:|true}"), SCH,
	    "scripts[0].attributes.defer" },
	{ S1(",`attributes`:{|`on load`:``}"), SCH,
	    "scripts[0].attributes[\"on load\"]" },
	{ S1(",`attributes`:|[`defer`]"), SCH, "scripts[0].attributes" },
	{ S1(",|`src`:`x`"), SCH, "scripts[0].src" },
	{ S1(",`description`:|0"), SCH, "scripts[0].description" },
	{ "{`scripts`:[|1]}", SCH, "scripts[0]" },
	{ "{`scripts`:[{`name`:`a`,`path`:`a.js`},{`name`:|`a`,"
	    "`path`:`b.js`}]}", SCH, "scripts[1].name" },
	{ "{`scripts`:[{`name`:`a`,`path`:`a.js`},{`name`:`A`,"
	    "`path`:`b.js`}]}", NULL, NULL },
	{ "{`scripts`:[{`name`:`a`,`path`:`a.js`}],`stylesheets`:[{`name`:`a`,"
	    "`path`:`a.css`}]}", NULL, NULL },
	{ CSS("`styles/a.css`"), NULL, NULL },
	{ CSS("`https://cdnjs.cloudflare.com/ajax/libs/x/1/x.min.css`"), NULL,
	    NULL },
	{ CSS("|`styles/a.js`"), SCH, "stylesheets[0].path" },
	{ CSS("|`a\\\\..\\\\a.css`"), TRAV, "stylesheets[0].path" },
	{ "{`stylesheets`:[{`name`:`a`,`path`:`a.css`},{`name`:|`a`,"
	    "`path`:`b.css`}]}", SCH, "stylesheets[1].name" },
	/* --- page targeting -------------------------------------------------- */
	{ RULE("{`field`:`page`,`operator`:`eq`,`value`:`homepage`}"), NULL,
	    NULL },
	{ RULE("{`field`:`page`,`operator`:`in`,`value`:[`community`,"
	    "`ideation`,`productUpdates`,`eventOverview`,`knowledgeBase`,"
	    "`category/42`,`customPage/about`,`education`,`educationHub`]}"),
	    NULL, NULL },
	{ RULE("{`field`:`pageType`,`operator`:`neq`,`value`:`customPage`},"
	    "{`field`:`slug`,`operator`:`not_in`,`value`:[`a`,`b`]},"
	    "{`field`:`locale`,`operator`:`eq`,`value`:`de-DE`},"
	    "{`field`:`authenticated`,`operator`:`eq`,`value`:`false`}"),
	    NULL, NULL },
	{ RULE("{`field`:`page`,`operator`:`eq`,`value`:|`category/`}"), SCH,
	    "scripts[0].rules[0].value" },
	{ RULE("{`field`:`page`,`operator`:`eq`,`value`:|`customPage/`}"), SCH,
	    "scripts[0].rules[0].value" },
	{ RULE("{`field`:`page`,`operator`:`eq`,`value`:|`Homepage`}"), SCH,
	    "scripts[0].rules[0].value" },
	{ RULE("{`field`:`page`,`operator`:`in`,`value`:[`homepage`,"
	    "|`forum`]}"), SCH, "scripts[0].rules[0].value[1]" },
	{ RULE("{`field`:`page`,`operator`:`in`,`value`:[|5]}"), SCH,
	    "scripts[0].rules[0].value[0]" },
	{ RULE("{`field`:`pageType`,`operator`:`eq`,`value`:|`forum`}"), SCH,
	    "scripts[0].rules[0].value" },
	{ RULE("{`field`:`authenticated`,`operator`:`eq`,`value`:|true}"), SCH,
	    "scripts[0].rules[0].value" },
	{ RULE("{`field`:`authenticated`,`operator`:`eq`,`value`:|`yes`}"),
	    SCH, "scripts[0].rules[0].value" },
	{ RULE("{`field`:`page`,`operator`:`in`,`value`:|`homepage`}"), SCH,
	    "scripts[0].rules[0].value" },
	{ RULE("{`field`:`page`,`operator`:`eq`,`value`:|[`homepage`]}"), SCH,
	    "scripts[0].rules[0].value" },
	{ RULE("{`field`:|`user`,`operator`:`eq`,`value`:`x`}"), SCH,
	    "scripts[0].rules[0].field" },
	{ RULE("{`field`:`page`,`operator`:|`contains`,`value`:`x`}"), SCH,
	    "scripts[0].rules[0].operator" },
	{ RULE("{`field`:`page`,`operator`:|`EQ`,`value`:`homepage`}"), SCH,
	    "scripts[0].rules[0].operator" },
	{ RULE("|{`field`:`page`,`operator`:`eq`}"), SCH,
	    "scripts[0].rules[0].value" },
	{ RULE("|{`operator`:`eq`,`value`:`x`}"), SCH,
	    "scripts[0].rules[0].field" },
	{ RULE("{`field`:`slug`,`operator`:`eq`,`value`:`x`,|`negate`:true}"),
	    SCH, "scripts[0].rules[0].negate" },
	{ RULE("|`page=homepage`"), SCH, "scripts[0].rules[0]" },
	{ S1(",`rules`:|{}"), SCH, "scripts[0].rules" },
	/* --- import maps ------------------------------------------------------ */
	{ IM("{`imports`:{`vue`:" UNPKG "}}"), NULL, NULL },
	{ IM("{`imports`:{`vue`:" UNPKG "},`scopes`:{`https://a.example/`:"
	    "{`vue`:`https://esm.sh/vue@3`}},`integrity`:{" UNPKG ":"
	    "`sha384-oqVuAfXRKap7fdgcCY5uykM6+R9GqQ8K/uxy9rx7HNQlGYl1kPzQho1wx4JwY8wC`}}"),
	    NULL, NULL },
	{ IM("|{`scopes`:{}}"), SCH, "importMaps[0].imports" },
	{ IM("{`imports`:|[]}"), SCH, "importMaps[0].imports" },
	{ IM("{`imports`:{`vue`:|`http://unpkg.com/vue`}}"), SCH,
	    "importMaps[0].imports.vue" },
	{ IM("{`imports`:{`vue`:|`./vue.js`}}"), SCH,
	    "importMaps[0].imports.vue" },
	{ IM("{`imports`:{`vue`:|1}}"), SCH, "importMaps[0].imports.vue" },
	{ IM("{`imports`:{|``:" UNPKG "}}"), SCH, "importMaps[0].imports[\"\"]" },
	{ IM("{`imports`:{},`scopes`:{`/x/`:{`vue`:|`http://x.example/v.js`}}}"),
	    SCH, "importMaps[0].scopes[\"/x/\"].vue" },
	{ IM("{`imports`:{},`scopes`:{`/x/`:|[]}}"), SCH,
	    "importMaps[0].scopes[\"/x/\"]" },
	{ IM("{`imports`:{},`integrity`:{|`http://unpkg.com/v.js`:`sha384-x`}}"),
	    SCH, "importMaps[0].integrity[\"http://unpkg.com/v.js\"]" },
	{ IM("{`imports`:{},`integrity`:{" UNPKG ":|`md5-abc`}}"), SCH,
	    "importMaps[0].integrity[\"https://unpkg.com/vue@3/dist/"
	    "vue.esm-browser.js\"]" },
	{ IM("{`imports`:{},|`map`:{}}"), SCH, "importMaps[0].map" },
	{ IM("|[]"), SCH, "importMaps[0]" },
	/* --- positions across lines ------------------------------------------ */
	{ "{\n  `widgets`: [\n    {\n      `title`: `T`,\n      `type`: `t`,\n"
	    "      `category`: `c`,\n      `source`: {\n        `path`: "
	    "|`../x`,\n        `entry`: `index.html`\n      }\n    }\n  ]\n}\n",
	    TRAV, "widgets[0].source.path" },
	{ "{\n  `widgets`: [\n    {`title`: `Ünïcødé ☃`, `type`: `t`, "
	    "`category`: `c`, `version`: |`x`,\n " SRC "}\n  ]\n}", STR,
	    "widgets[0].version" },
};

/* The document with quotes swapped and the marker removed; line and col
   where the marker stood (0 when there is none). */
static char *
doc_prepare(const char *src, int *line, int *col)
{
	char		*s = strdup(src), *o = s;
	const char	*p;

	ck_assert_ptr_nonnull(s);
	*line = *col = 0;
	for (p = src; *p != '\0'; p++) {
		if (*p == '|') {
			const char	*q;

			*line = 1;
			*col = 1;
			for (q = s; q < o; q++) {
				if (*q == '\n') {
					(*line)++;
					*col = 1;
				} else if (((unsigned char)*q & 0xc0) != 0x80)
					(*col)++;
			}
			continue;
		}
		*o++ = *p == '`' ? '"' : *p;
	}
	*o = '\0';
	return s;
}

/* Every document of the table: valid ones load; invalid ones report the
 * expected code, attribute path and position (among their errors). */
START_TEST(test_corpus)
{
	const struct doc	*d = &docs[_i];
	struct ext_report	 rep;
	struct ext_registry	*xg;
	const struct ext_error	*e;
	char			*json;
	size_t			 k;
	int			 line, col, found = 0;

	json = doc_prepare(d->d_json, &line, &col);
	memset(&rep, 0, sizeof(rep));
	xg = extreg_load_buffer("extensions_registry.json", json, strlen(json),
	    0, &rep);
	if (d->d_code == NULL) {
		if (xg == NULL)
			ext_report_print(&rep, stderr);
		ck_assert_msg(xg != NULL, "doc %d should be valid: %s", _i, json);
		ck_assert_uint_eq(rep.xr_nerrors, 0);
		goto out;
	}
	ck_assert_msg(xg == NULL, "doc %d should be invalid: %s", _i, json);
	ck_assert_uint_gt(rep.xr_nerrors, 0);
	for (k = 0; k < rep.xr_n; k++) {
		e = &rep.xr_items[k];
		if (strcmp(e->ee_code, d->d_code) == 0 &&
		    strcmp(e->ee_path, d->d_path) == 0 &&
		    (line == 0 || (e->ee_line == line && e->ee_col == col)))
			found = 1;
	}
	if (!found) {
		fprintf(stderr, "doc %d: want %s at %s %d:%d, got:\n", _i,
		    d->d_code, d->d_path, line, col);
		ext_report_print(&rep, stderr);
	}
	ck_assert_msg(found, "doc %d: expected error not reported", _i);
 out:
	extreg_free(xg);
	ext_report_clear(&rep);
	free(json);
}
END_TEST

/* Every error of a file in one run, in document order, each exactly once. */
START_TEST(test_all_errors)
{
	const char *json = "{\"widgets\":[{\"title\":\"\",\"type\":\"t\","
	    "\"category\":\"c\",\"source\":{\"path\":\"../w\",\"entry\":"
	    "\"/i.html\"},\"version\":\"1\"}],\"scripts\":[{\"name\":\"a\","
	    "\"path\":\"a.css\"}],\"extra\":1}";
	static const char *const paths[] = { "extra", "widgets[0].title",
	    "widgets[0].source.path", "widgets[0].source.entry",
	    "widgets[0].version", "scripts[0].path" };
	struct ext_report	 rep;
	size_t			 i, k;

	memset(&rep, 0, sizeof(rep));
	ck_assert_ptr_null(extreg_load_buffer("r.json", json, strlen(json), 0,
	    &rep));
	ck_assert_uint_eq(rep.xr_nerrors, 6);
	for (i = 0; i < 6; i++) {
		for (k = 0; k < rep.xr_n; k++)
			if (strcmp(rep.xr_items[k].ee_path, paths[i]) == 0)
				break;
		ck_assert_msg(k < rep.xr_n, "no error at %s", paths[i]);
	}
	ext_report_clear(&rep);
}
END_TEST

/* The printed form: file:line:col: attribute.path: message [CODE]. */
START_TEST(test_print)
{
	const char *json = "{\"widgets\": [\n {\"title\": \"T\", \"type\": "
	    "\"t\", \"category\": \"c\",\n  \"source\": {\"path\": \"a/../b\", "
	    "\"entry\": \"i.html\"}}]}";
	struct ext_report	 rep;
	char			*out = NULL;
	size_t			 len = 0;
	FILE			*fp;

	memset(&rep, 0, sizeof(rep));
	ck_assert_ptr_null(extreg_load_buffer("x/extensions_registry.json",
	    json, strlen(json), 0, &rep));
	ck_assert_ptr_nonnull(fp = open_memstream(&out, &len));
	ext_report_print(&rep, fp);
	fclose(fp);
	ck_assert_str_eq(out, "x/extensions_registry.json:3:22: "
	    "widgets[0].source.path: 'a/../b' must not leave its directory "
	    "('..') [PATH_TRAVERSAL_DETECTED]\n");
	free(out);
	ext_report_clear(&rep);
}
END_TEST

/* widget_registry.json: valid, with a line containing "warning". */
START_TEST(test_legacy)
{
	const char *json = "{\"widgets\": []}";
	struct ext_report	 rep;
	struct ext_registry	*xg;
	char			*out = NULL;
	size_t			 len = 0;
	FILE			*fp;

	memset(&rep, 0, sizeof(rep));
	xg = extreg_load_buffer("widget_registry.json", json, strlen(json), 1,
	    &rep);
	ck_assert_ptr_nonnull(xg);
	ck_assert_int_eq(xg->xg_legacy, 1);
	ck_assert_uint_eq(rep.xr_n, 1);
	ck_assert_uint_eq(rep.xr_nerrors, 0);
	ck_assert_ptr_nonnull(fp = open_memstream(&out, &len));
	ext_report_print(&rep, fp);
	fclose(fp);
	ck_assert_str_eq(out, "widget_registry.json: warning: "
	    "widget_registry.json is deprecated; rename it to "
	    "extensions_registry.json\n");
	free(out);
	extreg_free(xg);
	ext_report_clear(&rep);
	ck_assert_int_eq(extreg_is_registry_name("widget_registry.json",
	    (int *)&len), 1);
	ck_assert_int_eq((int)len, 1);
	ck_assert_int_eq(extreg_is_registry_name("extensions_registry.json",
	    NULL), 1);
	ck_assert_int_eq(extreg_is_registry_name("Extensions_registry.json",
	    NULL), 0);
}
END_TEST

/* The model the publisher works from. */
START_TEST(test_model)
{
	const char *json = "{\"widgets\":[{\"title\":\"A\",\"type\":\"a\","
	    "\"category\":\"c\",\"source\":{\"path\":\"w/a\",\"entry\":"
	    "\"index.html\"},\"imageSrc\":\"w/a/t.png\"},{\"title\":\"B\","
	    "\"type\":\"b\",\"category\":\"c\",\"content\":{\"endpoint\":"
	    "\"https://x.example/\"},\"imageSrc\":\"https://x.example/t.png\"}],"
	    "\"scripts\":[{\"name\":\"s\",\"path\":\"js/s.js\",\"placement\":"
	    "\"bodyEnd\"},{\"name\":\"u\",\"path\":\"https://unpkg.com/u.js\"}],"
	    "\"stylesheets\":[{\"name\":\"c\",\"path\":\"css/c.css\"}]}";
	struct ext_report	 rep;
	struct ext_registry	*xg;

	memset(&rep, 0, sizeof(rep));
	xg = extreg_load_buffer("r", json, strlen(json), 0, &rep);
	ck_assert_ptr_nonnull(xg);
	ck_assert_uint_eq(xg->xg_nwidgets, 2);
	ck_assert_str_eq(xg->xg_widgets[0].ew_type, "a");
	ck_assert_str_eq(xg->xg_widgets[0].ew_path, "w/a");
	ck_assert_str_eq(xg->xg_widgets[0].ew_entry, "index.html");
	ck_assert_str_eq(xg->xg_widgets[0].ew_image, "w/a/t.png");
	ck_assert_ptr_null(xg->xg_widgets[1].ew_path);
	ck_assert_ptr_null(xg->xg_widgets[1].ew_image);
	ck_assert_uint_eq(xg->xg_nscripts, 2);
	ck_assert_int_eq(xg->xg_scripts[0].ea_external, 0);
	ck_assert_int_eq(xg->xg_scripts[0].ea_placement, EXT_BODY_END);
	ck_assert_int_eq(xg->xg_scripts[1].ea_external, 1);
	ck_assert_int_eq(xg->xg_scripts[1].ea_placement, EXT_HEAD);
	ck_assert_uint_eq(xg->xg_nstyles, 1);
	ck_assert_str_eq(xg->xg_styles[0].ea_path, "css/c.css");
	ck_assert_ptr_nonnull(xg->xg_json);
	extreg_free(xg);
	ext_report_clear(&rep);
}
END_TEST

/* The path rule on its own, as the publisher applies it to tree names. */
START_TEST(test_path_check)
{
	ck_assert_ptr_null(extreg_path_check("a/b", 3));
	ck_assert_str_eq(extreg_path_check("a/..", 4), TRAV);
	ck_assert_str_eq(extreg_path_check("\\a", 2), ABS);
	ck_assert_str_eq(extreg_path_check("a/%2E%2e", 8), TRAV);
	ck_assert_str_eq(extreg_path_check("a\0b", 3), TRAV);
	ck_assert_ptr_null(extreg_path_check("%", 1));
	ck_assert_ptr_null(extreg_path_check("%2", 2));
	ck_assert_ptr_null(extreg_path_check("..%", 3));
}
END_TEST

/* A hostile size: many widgets with the same type stay O(n log n) and the
 * report stops at its limit. */
START_TEST(test_many_errors)
{
	struct ext_report	 rep;
	char			*json, *p;
	size_t			 i, n = 5000;
	const char		*w = "{\"title\":\"T\",\"type\":\"t\","
	    "\"category\":\"c\",\"source\":{\"path\":\"w\",\"entry\":"
	    "\"i.html\"}},";

	ck_assert_ptr_nonnull(json = malloc(n * strlen(w) + 32));
	p = json + sprintf(json, "{\"widgets\":[");
	for (i = 0; i < n; i++)
		p += sprintf(p, "%s", w);
	strcpy(p - 1, "]}");
	memset(&rep, 0, sizeof(rep));
	ck_assert_ptr_null(extreg_load_buffer("r", json, strlen(json), 0,
	    &rep));
	ck_assert_uint_eq(rep.xr_nerrors, 1001);
	ck_assert_str_eq(rep.xr_items[1000].ee_msg, "too many errors, giving up");
	ck_assert_str_eq(rep.xr_items[0].ee_path, "widgets[1].type");
	ext_report_clear(&rep);
	free(json);
}
END_TEST

Suite *
check_suite(void)
{
	Suite	*s = suite_create("extreg");
	TCase	*tc = tcase_create("extreg");

	/* Sanitizer builds on a shared machine: the big documents take time. */
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_corpus, 0, sizeof(docs) / sizeof(docs[0]));
	tcase_add_test(tc, test_all_errors);
	tcase_add_test(tc, test_print);
	tcase_add_test(tc, test_legacy);
	tcase_add_test(tc, test_model);
	tcase_add_test(tc, test_path_check);
	tcase_add_test(tc, test_many_errors);
	suite_add_tcase(s, tc);
	return s;
}
