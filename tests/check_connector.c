/*
 * check_connector.c — the registry and Code Mode loader: a table of
 * documents (valid and invalid), each invalid one pinned to its error class
 * and field path (and line:col where it matters), then the model, the
 * report format, and the shipped examples.
 *
 * Documents are written with ` for " so that templates keep their single
 * quotes readable; doc_json() swaps them back.
 */
#include "build.h"

#include "check_main.h"
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "connector.h"
#include "netpolicy.h"
#include "template/template.h"

#define C1(body)	"{`connectors`:[{" body "}]}"
#define U		"`url`:`https://api.example.com/v1`"
#define N		"`name`:`A`"
#define NU		N "," U
#define COMP(steps)	"{`composite_connectors`:[{`name`:`C`,`steps`:[" steps "]}]}"
#define STEP(extra)	"{`name`:`s1`,`url`:`https://api.example.com/`" extra "}"

enum { POL_DEFAULT, POL_LOCAL };
enum { MODE_REG, MODE_CODE };

struct doc {
	const char	*d_json;
	int		 d_mode;
	int		 d_pol;
	const char	*d_class;	/* NULL: valid; "*": any class */
	const char	*d_path;
	int		 d_line;	/* 0: not checked */
	int		 d_col;
};

static char	*big_a;			/* filled by the fixture */

static const struct doc docs[] = {
	/* --- valid ------------------------------------------------------- */
	{ C1(NU), 0, 0, NULL, NULL, 0, 0 },
	{ C1(NU ",`method`:`POST`"), 0, 0, NULL, NULL, 0, 0 },
	{ C1(NU ",`method`:`delete`"), 0, 0, NULL, NULL, 0, 0 },
	{ C1(NU ",`method`:`OPTIONS`"), 0, 0, NULL, NULL, 0, 0 },
	{ C1(NU ",`headers`:[{`key`:`X-Api-Key`,`value`:`{{ get_secret('k') }}`,"
	    "`overridable`:false},{`key`:`Accept`,`value`:`application/json`,"
	    "`overridable`:true}]"), 0, 0, NULL, NULL, 0, 0 },
	{ C1(NU ",`query_parameters`:[{`key`:`q`,`value`:`{{ user.email }}`},"
	    "{`key`:`Q`,`value`:`x`}]"), 0, 0, NULL, NULL, 0, 0 },
	{ C1(N ",`url`:`https://api.example.com/ideas/{{ pathParams.idea_id }}`,"
	    "`path_parameters`:[{`key`:`idea_id`}]"), 0, 0, NULL, NULL, 0, 0 },
	{ C1(N ",`url`:`https://api.example.com/u/{{ pathParams.u }}/p/"
	    "{{ pathParams.p }}`,`path_parameters`:[{`key`:`u`,`value`:`42`,"
	    "`overridable`:true},{`key`:`p`}]"), 0, 0, NULL, NULL, 0, 0 },
	{ C1(NU ",`authentication`:{`type`:`api_key`,`config`:{`key`:`Authorization`,"
	    "`value`:`Bearer {{ get_secret('tok') }}`,`in`:`header`}}"),
	    0, 0, NULL, NULL, 0, 0 },
	{ C1(NU ",`authentication`:{`type`:`apikey`,`config`:{`key`:`key`,"
	    "`value`:`{{ get_secret('k') }}`,`in`:`query`}}"), 0, 0, NULL, NULL,
	    0, 0 },
	{ C1(NU ",`authentication`:{`type`:`oauth_client_credentials`,`config`:"
	    "{`client_id`:`{{ get_variable('cid') }}`,`client_secret`:"
	    "`{{ get_secret('cs') }}`,`token_url`:`https://auth.example.com/token`,"
	    "`scope`:`read`}}"), 0, 0, NULL, NULL, 0, 0 },
	{ C1(NU ",`authentication`:{`type`:`jwt`,`config`:{`private_key`:"
	    "`{{ get_secret('pk') }}`,`algorithm`:`ES256`,`claims`:{`sub`:"
	    "`{{ user.id }}`,`exp`:`{{ now(300) }}`,`n`:5,`l`:[1,2],`z`:null},"
	    "`jwt_headers`:{`kid`:`k1`}}}"), 0, 0, NULL, NULL, 0, 0 },
	{ C1(NU ",`authentication`:{`type`:`oauth_jwt_bearer`,`config`:{"
	    "`client_id`:`cid`,`private_key`:`{{ get_secret('pk') }}`,"
	    "`token_url`:`https://login.example.com/services/oauth2/token`,"
	    "`subject`:`{{ user.email }}`,`audience`:`https://login.example.com`,"
	    "`token_ttl`:1800,`algorithm`:`PS512`,`additional_claims`:{`scope`:`api`},"
	    "`jwt_headers`:{`kid`:`x`}}}"), 0, 0, NULL, NULL, 0, 0 },
	{ C1(NU ",`authentication`:{`type`:`none`,`config`:{`whatever`:1}}"),
	    0, 0, NULL, NULL, 0, 0 },
	{ C1(NU ",`authentication`:null"), 0, 0, NULL, NULL, 0, 0 },
	{ C1(N ",`url`:`https://{{ get_variable('portal_host') }}/api/v2`"),
	    0, 0, NULL, NULL, 0, 0 },
	{ C1(N ",`url`:`{{ get_variable('instance_url') }}/services/data`"),
	    0, 0, NULL, NULL, 0, 0 },
	{ C1(N ",`url`:`https://{{ get_variable('h') | default('app.example.com', "
	    "true) }}/api`"), 0, 0, NULL, NULL, 0, 0 },
	{ C1(N ",`url`:`https://{{ get_variable('region') }}.api.example.com/v1`"),
	    0, 0, NULL, NULL, 0, 0 },
	{ C1(NU ",`method`:`POST`,`request_body`:`{\\`id\\`: "
	    "{{ (body_text | from_json).id }}}`"), 0, 0, NULL, NULL, 0, 0 },
	{ C1(NU ",`response_body`:`{{ response.body }}`,"
	    "`response_content_type`:`application/json`"), 0, 0, NULL, NULL, 0, 0 },
	{ C1(NU ",`permalink`:`my-api-2`"), 0, 0, NULL, NULL, 0, 0 },
	{ C1(NU ",`color`:`blue`,`extra`:{`deep`:[1,2,3]}"), 0, 0, NULL, NULL,
	    0, 0 },
	{ C1(NU ",`headers`:null,`query_parameters`:null,`request_body`:null,"
	    "`response_content_type`:null"), 0, 0, NULL, NULL, 0, 0 },
	{ COMP(STEP("") "," "{`name`:`s2`,`url`:`https://api.example.com/"
	    "{{ steps.s1.status_code }}`,`method`:`POST`,`request_body`:"
	    "`{{ get_variable('v') }}`}"), 0, 0, NULL, NULL, 0, 0 },
	{ "{`connectors`:[{`name`:`Same`,`url`:`https://a.example.com/`}],"
	    "`composite_connectors`:[{`name`:`Same`,`steps`:[" STEP("") "]}]}",
	    0, 0, NULL, NULL, 0, 0 },
	{ "{}", 0, 0, NULL, NULL, 0, 0 },
	{ "{`connectors`:[]}", 0, 0, NULL, NULL, 0, 0 },
	{ "\xef\xbb\xbf{`connectors`:[]}", 0, 0, NULL, NULL, 0, 0 },
	{ C1(N ",`url`:`https://api.example.com:8443/x?a=1&b=%20`"), 0, 0, NULL,
	    NULL, 0, 0 },
	{ C1(N ",`url`:`https://[2606:4700::1]/x`"), 0, 0, NULL, NULL, 0, 0 },
	{ C1(N ",`url`:`http://127.0.0.1:8080/x`"), 0, POL_LOCAL, NULL, NULL, 0, 0 },
	{ C1(N ",`url`:`https://10.1.2.3/`"), 0, POL_LOCAL, NULL, NULL, 0, 0 },
	{ "{`name`:`Weather API`,`url`:`https://api.weather.example/current`,"
	    "`method`:`GET`,`query_parameters`:[{`key`:`location`,`value`:"
	    "`New York`,`overridable`:true}]}", MODE_CODE, 0, NULL, NULL, 0, 0 },
	{ C1("`name`:`\xc3\xa9\xc3\xa9\xc3\xa9`,`permalink`:`e`," U), 0, 0, NULL,
	    NULL, 0, 0 },

	/* --- JSON syntax ------------------------------------------------- */
	{ "{`connectors`:[1,]}", 0, 0, REG_E_JSON, "", 1, 18 },
	{ "{`connectors`:[],}", 0, 0, REG_E_JSON, "", 1, 18 },
	{ "{`connectors`:[] // x\n}", 0, 0, REG_E_JSON, "", 1, 18 },
	{ "{\n /* c */ `connectors`:[]}", 0, 0, REG_E_JSON, "", 2, 2 },
	{ "{'connectors':[]}", 0, 0, REG_E_JSON, "", 1, 2 },
	{ "{`connectors`:[{`name`:`abc}]}", 0, 0, REG_E_JSON, "", 1, 24 },
	{ "{`a`:01}", 0, 0, REG_E_JSON, "", 1, 6 },
	{ "{`a`:NaN}", 0, 0, REG_E_JSON, "", 1, 6 },
	{ "", 0, 0, REG_E_JSON, "", 1, 1 },
	{ "{} {}", 0, 0, REG_E_JSON, "", 1, 4 },
	{ "{`a`:`x\ty`}", 0, 0, REG_E_JSON, "", 1, 8 },
	{ "{`a`:`\xff`}", 0, 0, REG_E_JSON, "", 1, 7 },
	{ "{`a`:`\\x41`}", 0, 0, REG_E_JSON, "", 1, 7 },
	{ "{`a`:`\\ud800`}", 0, 0, REG_E_JSON, "", 1, 7 },
	{ "{`a`:tru}", 0, 0, REG_E_JSON, "", 1, 6 },
	{ "{`a` 1}", 0, 0, REG_E_JSON, "", 1, 6 },
	{ "{`connectors`:[],`connectors`:[]}", 0, 0, REG_E_DUP_JSON_KEY,
	    "connectors", 1, 18 },
	{ C1(NU ",`headers`:[{`key`:`a`,`value`:`1`,`value`:`2`}]"), 0, 0,
	    REG_E_DUP_JSON_KEY, "connectors[0].headers[0].value", 0, 0 },
	{ "{`connectors`:[{`name`:`a`,\n`name`:`b`," U "}]}", 0, 0,
	    REG_E_DUP_JSON_KEY, "connectors[0].name", 2, 1 },

	/* --- root -------------------------------------------------------- */
	{ "[]", 0, 0, REG_E_TYPE, "", 1, 1 },
	{ "{`connectors`:{}}", 0, 0, REG_E_TYPE, "connectors", 1, 15 },
	{ "{`connectors`:[`x`]}", 0, 0, REG_E_TYPE, "connectors[0]", 1, 16 },
	{ "{`composite_connectors`:5}", 0, 0, REG_E_TYPE, "composite_connectors",
	    0, 0 },

	/* --- name and permalink ------------------------------------------ */
	{ C1(U), 0, 0, REG_E_MISSING, "connectors[0].name", 1, 16 },
	{ C1("`name`:1," U), 0, 0, REG_E_TYPE, "connectors[0].name", 1, 24 },
	{ C1("`name`:``," U), 0, 0, REG_E_MISSING, "connectors[0].name", 0, 0 },
	{ C1("`name`:null," U), 0, 0, REG_E_MISSING, "connectors[0].name", 0, 0 },
	{ C1("`name`:`@NAME256`," U), 0, 0, REG_E_LENGTH, "connectors[0].name",
	    0, 0 },
	{ C1(NU ",`permalink`:`Foo`"), 0, 0, REG_E_PERMALINK,
	    "connectors[0].permalink", 0, 0 },
	{ C1(NU ",`permalink`:`a--b`"), 0, 0, REG_E_PERMALINK,
	    "connectors[0].permalink", 0, 0 },
	{ C1(NU ",`permalink`:`-a`"), 0, 0, REG_E_PERMALINK,
	    "connectors[0].permalink", 0, 0 },
	{ C1(NU ",`permalink`:`a_b`"), 0, 0, REG_E_PERMALINK,
	    "connectors[0].permalink", 0, 0 },
	{ C1("`name`:`My API (v2)`," U), 0, 0, REG_E_PERMALINK,
	    "connectors[0].name", 0, 0 },
	{ C1(NU ",`permalink`:`@NAME256`"), 0, 0, REG_E_LENGTH,
	    "connectors[0].permalink", 0, 0 },
	{ "{`connectors`:[{`name`:`x`," U ",`permalink`:`p`},{`name`:`y`," U
	    ",`permalink`:`p`}]}", 0, 0, REG_E_DUP_PERMALINK,
	    "connectors[1].permalink", 0, 0 },
	{ "{`connectors`:[{`name`:`Weather API`," U "},{`name`:`weather api`,"
	    U "}]}", 0, 0, REG_E_DUP_PERMALINK, "connectors[1].permalink", 0, 0 },
	{ "{`composite_connectors`:[{`name`:`C`,`steps`:[" STEP("") "]},"
	    "{`name`:`c`,`steps`:[" STEP("") "]}]}", 0, 0, REG_E_DUP_PERMALINK,
	    "composite_connectors[1].permalink", 0, 0 },

	/* --- URL --------------------------------------------------------- */
	{ C1(N), 0, 0, REG_E_MISSING, "connectors[0].url", 0, 0 },
	{ C1(N ",`url`:5"), 0, 0, REG_E_TYPE, "connectors[0].url", 0, 0 },
	{ C1(N ",`url`:``"), 0, 0, REG_E_URL, "connectors[0].url", 0, 0 },
	{ C1(N ",`url`:`http://api.example.com/`"), 0, 0, REG_E_URL,
	    "connectors[0].url", 1, 34 },
	{ C1(N ",`url`:`ftp://api.example.com/`"), 0, 0, REG_E_URL,
	    "connectors[0].url", 0, 0 },
	{ C1(N ",`url`:`api.example.com/x`"), 0, 0, REG_E_URL,
	    "connectors[0].url", 0, 0 },
	{ C1(N ",`url`:`https://localhost/x`"), 0, 0, REG_E_URL,
	    "connectors[0].url", 0, 0 },
	{ C1(N ",`url`:`https://LocalHost:443/x`"), 0, POL_LOCAL, REG_E_URL,
	    "connectors[0].url", 0, 0 },
	{ C1(N ",`url`:`https://api.localhost/x`"), 0, 0, REG_E_URL,
	    "connectors[0].url", 0, 0 },
	{ C1(N ",`url`:`https://127.0.0.1/x`"), 0, 0, REG_E_URL,
	    "connectors[0].url", 0, 0 },
	{ C1(N ",`url`:`https://10.1.2.3/x`"), 0, 0, REG_E_URL,
	    "connectors[0].url", 0, 0 },
	{ C1(N ",`url`:`https://169.254.169.254/latest/meta-data`"), 0, 0,
	    REG_E_URL, "connectors[0].url", 0, 0 },
	{ C1(N ",`url`:`https://[::1]/x`"), 0, 0, REG_E_URL, "connectors[0].url",
	    0, 0 },
	{ C1(N ",`url`:`https://[fe80::1]/x`"), 0, 0, REG_E_URL,
	    "connectors[0].url", 0, 0 },
	{ C1(N ",`url`:`https://2130706433/x`"), 0, 0, REG_E_URL,
	    "connectors[0].url", 0, 0 },
	{ C1(N ",`url`:`https://api.example.com/a b`"), 0, 0, REG_E_URL,
	    "connectors[0].url", 0, 0 },
	{ C1(N ",`url`:`{{ get_variable('s') }}://api.example.com/`"), 0, 0,
	    REG_E_URL, "connectors[0].url", 0, 0 },
	{ C1(N ",`url`:`https://user@api.example.com/`"), 0, 0, REG_E_URL,
	    "connectors[0].url", 0, 0 },
	{ C1(N ",`url`:`https://api.example.com:99999/`"), 0, 0, REG_E_URL,
	    "connectors[0].url", 0, 0 },
	{ C1(N ",`url`:`https:///x`"), 0, 0, REG_E_URL, "connectors[0].url",
	    0, 0 },
	{ C1(N ",`url`:`https://`"), 0, 0, REG_E_URL, "connectors[0].url", 0, 0 },
	{ C1(N ",`url`:`https://api.example.com/%zz`"), 0, 0, REG_E_URL,
	    "connectors[0].url", 0, 0 },
	{ C1(N ",`url`:`https://api.example.com/@URL2049`"), 0, 0, REG_E_LENGTH,
	    "connectors[0].url", 0, 0 },
	{ C1(N ",`url`:`https://api.example.com/{{ get_secret('k') }}`"), 0, 0,
	    REG_E_TEMPLATE, "connectors[0].url", 0, 0 },
	{ C1(N ",`url`:`https://{{ user.id }}.example.com/`"), 0, 0, REG_E_URL,
	    "connectors[0].url", 0, 0 },
	{ C1(N ",`url`:`https://{{ get_variable('h') | upper }}/`"), 0, 0,
	    REG_E_URL, "connectors[0].url", 0, 0 },
	{ C1(N ",`url`:`https://{% if x %}a.example.com{% endif %}/`"), 0, 0,
	    REG_E_URL, "connectors[0].url", 0, 0 },
	{ C1(N ",`url`:`https://api.example.com/{{ user.id`"), 0, 0,
	    REG_E_TEMPLATE, "connectors[0].url", 0, 0 },

	/* --- method ------------------------------------------------------ */
	{ C1(NU ",`method`:`FETCH`"), 0, 0, REG_E_VALUE, "connectors[0].method",
	    0, 0 },
	{ C1(NU ",`method`:1"), 0, 0, REG_E_TYPE, "connectors[0].method", 0, 0 },

	/* --- headers and query parameters -------------------------------- */
	{ C1(NU ",`headers`:{}"), 0, 0, REG_E_TYPE, "connectors[0].headers", 0, 0 },
	{ C1(NU ",`headers`:[`a`]"), 0, 0, REG_E_TYPE, "connectors[0].headers[0]",
	    0, 0 },
	{ C1(NU ",`headers`:[{`value`:`a`}]"), 0, 0, REG_E_MISSING,
	    "connectors[0].headers[0].key", 0, 0 },
	{ C1(NU ",`headers`:[{`key`:`a`}]"), 0, 0, REG_E_MISSING,
	    "connectors[0].headers[0].value", 0, 0 },
	{ C1(NU ",`headers`:[{`key`:`@NAME256`,`value`:`a`}]"), 0, 0,
	    REG_E_LENGTH, "connectors[0].headers[0].key", 0, 0 },
	{ C1(NU ",`headers`:[{`key`:`a`,`value`:`@VAL1001`}]"), 0, 0,
	    REG_E_LENGTH, "connectors[0].headers[0].value", 0, 0 },
	{ C1(NU ",`headers`:[{`key`:`X Key`,`value`:`a`}]"), 0, 0, REG_E_VALUE,
	    "connectors[0].headers[0].key", 0, 0 },
	{ C1(NU ",`headers`:[{`key`:``,`value`:`a`}]"), 0, 0, REG_E_VALUE,
	    "connectors[0].headers[0].key", 0, 0 },
	/* What the HTTP client sets itself, a connector cannot. */
	{ C1(NU ",`headers`:[{`key`:`Host`,`value`:`evil.example`}]"), 0, 0,
	    REG_E_VALUE, "connectors[0].headers[0].key", 0, 0 },
	{ C1(NU ",`headers`:[{`key`:`transfer-encoding`,`value`:`chunked`}]"),
	    0, 0, REG_E_VALUE, "connectors[0].headers[0].key", 0, 0 },
	{ C1(NU ",`headers`:[{`key`:`Content-Length`,`value`:`0`}]"), 0, 0,
	    REG_E_VALUE, "connectors[0].headers[0].key", 0, 0 },
	{ C1(NU ",`authentication`:{`type`:`api_key`,`config`:{`key`:`Host`,"
	    "`value`:`x`}}"), 0, 0, REG_E_AUTH,
	    "connectors[0].authentication.config.key", 0, 0 },
	{ C1(NU ",`headers`:[{`key`:`X-Key`,`value`:`a`},{`key`:`x-key`,"
	    "`value`:`b`}]"), 0, 0, REG_E_DUP_KEY, "connectors[0].headers[1].key",
	    0, 0 },
	{ C1(NU ",`headers`:[{`key`:`a`,`value`:`b`,`overridable`:`yes`}]"), 0, 0,
	    REG_E_TYPE, "connectors[0].headers[0].overridable", 0, 0 },
	{ C1(NU ",`headers`:[{`key`:`a`,`value`:`{{ body_text }}`}]"), 0, 0,
	    REG_E_TEMPLATE, "connectors[0].headers[0].value", 0, 0 },
	{ C1(NU ",`headers`:[{`key`:`a`,`value`:`{% if %}`}]"), 0, 0,
	    REG_E_TEMPLATE, "connectors[0].headers[0].value", 0, 0 },
	{ C1(NU ",`headers`:[{`key`:`a`,`value`:`x\\r\\nEvil: 1`}]"), 0, 0,
	    REG_E_VALUE, "connectors[0].headers[0].value", 0, 0 },
	{ C1(NU ",`authentication`:{`type`:`api_key`,`config`:{`key`:`X Key`,"
	    "`value`:`v`}}"), 0, 0, REG_E_AUTH,
	    "connectors[0].authentication.config.key", 0, 0 },
	{ C1(NU ",`authentication`:{`type`:`api_key`,`config`:{`key`:`my key`,"
	    "`value`:`v`,`in`:`query`}}"), 0, 0, NULL, NULL, 0, 0 },
	{ C1(NU ",`query_parameters`:[{`key`:`q`,`value`:`1`},{`key`:`q`,"
	    "`value`:`2`}]"), 0, 0, REG_E_DUP_KEY,
	    "connectors[0].query_parameters[1].key", 0, 0 },
	{ C1(NU ",`query_parameters`:[{`key`:`q`,`value`:`@VAL1001`}]"), 0, 0,
	    REG_E_LENGTH, "connectors[0].query_parameters[0].value", 0, 0 },
	{ C1(NU ",`query_parameters`:[{`key`:`q`,`value`:"
	    "`{{ response.body }}`}]"), 0, 0, REG_E_TEMPLATE,
	    "connectors[0].query_parameters[0].value", 0, 0 },

	/* --- path parameters --------------------------------------------- */
	{ C1(N ",`url`:`https://api.example.com/{{ pathParams.id }}`"), 0, 0,
	    REG_E_PATHPARAMS, "connectors[0].url", 0, 0 },
	{ C1(NU ",`path_parameters`:[{`key`:`id`}]"), 0, 0, REG_E_PATHPARAMS,
	    "connectors[0].path_parameters[0].key", 0, 0 },
	{ C1(N ",`url`:`https://api.example.com/{{ pathParams.id }}`,"
	    "`path_parameters`:[{`key`:`id`},{`key`:`id`}]"), 0, 0, REG_E_DUP_KEY,
	    "connectors[0].path_parameters[1].key", 0, 0 },
	{ C1(N ",`url`:`https://api.example.com/{{ pathParams.id }}`,"
	    "`path_parameters`:[{`key`:`id`,`value`:`a/b`}]"), 0, 0, REG_E_VALUE,
	    "connectors[0].path_parameters[0].value", 0, 0 },
	{ C1(N ",`url`:`https://api.example.com/{{ pathParams.id }}`,"
	    "`path_parameters`:[{`key`:`id`,`value`:`..`}]"), 0, 0, REG_E_VALUE,
	    "connectors[0].path_parameters[0].value", 0, 0 },
	{ C1(NU ",`path_parameters`:`id`"), 0, 0, REG_E_TYPE,
	    "connectors[0].path_parameters", 0, 0 },

	/* --- authentication ---------------------------------------------- */
	{ C1(NU ",`authentication`:`api_key`"), 0, 0, REG_E_AUTH,
	    "connectors[0].authentication", 0, 0 },
	{ C1(NU ",`authentication`:{`config`:{}}"), 0, 0, REG_E_AUTH,
	    "connectors[0].authentication.type", 0, 0 },
	{ C1(NU ",`authentication`:{`type`:`basic`,`config`:{}}"), 0, 0,
	    REG_E_AUTH, "connectors[0].authentication.type", 0, 0 },
	{ C1(NU ",`authentication`:{`type`:`api_key`}"), 0, 0, REG_E_AUTH,
	    "connectors[0].authentication.config", 0, 0 },
	{ C1(NU ",`authentication`:{`type`:`api_key`,`config`:{`key`:`k`}}"), 0, 0,
	    REG_E_AUTH, "connectors[0].authentication.config.value", 0, 0 },
	{ C1(NU ",`authentication`:{`type`:`api_key`,`config`:{`key`:`k`,"
	    "`value`:`v`,`in`:`body`}}"), 0, 0, REG_E_AUTH,
	    "connectors[0].authentication.config.in", 0, 0 },
	{ C1(NU ",`authentication`:{`type`:`api_key`,`config`:{`key`:5,"
	    "`value`:`v`}}"), 0, 0, REG_E_AUTH,
	    "connectors[0].authentication.config.key", 0, 0 },
	{ C1(NU ",`authentication`:{`type`:`oauth_client_credentials`,`config`:"
	    "{`client_id`:`a`,`token_url`:`https://auth.example.com/t`}}"), 0, 0,
	    REG_E_AUTH, "connectors[0].authentication.config.client_secret", 0, 0 },
	{ C1(NU ",`authentication`:{`type`:`oauth_client_credentials`,`config`:"
	    "{`client_id`:`a`,`client_secret`:`b`,`token_url`:"
	    "`http://auth.example.com/t`}}"), 0, 0, REG_E_URL,
	    "connectors[0].authentication.config.token_url", 0, 0 },
	{ C1(NU ",`authentication`:{`type`:`oauth_client_credentials`,`config`:"
	    "{`client_id`:`a`,`client_secret`:`b`,`token_url`:"
	    "`https://192.168.1.1/t`}}"), 0, 0, REG_E_URL,
	    "connectors[0].authentication.config.token_url", 0, 0 },
	{ C1(NU ",`authentication`:{`type`:`oauth_client_credentials`,`config`:"
	    "{`client_id`:`a`,`client_secret`:`b`,`token_url`:"
	    "`https://auth.example.com/t?k={{ get_secret('k') }}`}}"), 0, 0,
	    REG_E_TEMPLATE, "connectors[0].authentication.config.token_url", 0, 0 },
	{ C1(NU ",`authentication`:{`type`:`oauth_client_credentials`,`config`:"
	    "{`client_id`:`a`,`client_secret`:`b`,`token_url`:"
	    "`{{ get_variable('auth_base') }}/oauth/token`}}"), 0, 0, NULL, NULL,
	    0, 0 },
	{ C1(NU ",`authentication`:{`type`:`jwt`,`config`:{`private_key`:`k`}}"),
	    0, 0, REG_E_AUTH, "connectors[0].authentication.config.claims", 0, 0 },
	{ C1(NU ",`authentication`:{`type`:`jwt`,`config`:{`private_key`:`k`,"
	    "`claims`:[]}}"), 0, 0, REG_E_AUTH,
	    "connectors[0].authentication.config.claims", 0, 0 },
	{ C1(NU ",`authentication`:{`type`:`jwt`,`config`:{`private_key`:`k`,"
	    "`claims`:{},`algorithm`:`none`}}"), 0, 0, REG_E_AUTH,
	    "connectors[0].authentication.config.algorithm", 0, 0 },
	{ C1(NU ",`authentication`:{`type`:`jwt`,`config`:{`private_key`:`k`,"
	    "`claims`:{},`algorithm`:`rs256`}}"), 0, 0, REG_E_AUTH,
	    "connectors[0].authentication.config.algorithm", 0, 0 },
	{ C1(NU ",`authentication`:{`type`:`jwt`,`config`:{`private_key`:`k`,"
	    "`claims`:{`sub`:`{{ user.id `}}}"), 0, 0, REG_E_TEMPLATE,
	    "connectors[0].authentication.config.claims.sub", 0, 0 },
	{ C1(NU ",`authentication`:{`type`:`jwt`,`config`:{`private_key`:`k`,"
	    "`claims`:{},`jwt_headers`:5}}"), 0, 0, REG_E_AUTH,
	    "connectors[0].authentication.config.jwt_headers", 0, 0 },
	{ C1(NU ",`authentication`:{`type`:`oauth_jwt_bearer`,`config`:{"
	    "`client_id`:`c`,`private_key`:`k`,`token_url`:`https://a.example.com/t`,"
	    "`audience`:`a`}}"), 0, 0, REG_E_AUTH,
	    "connectors[0].authentication.config.subject", 0, 0 },
	{ C1(NU ",`authentication`:{`type`:`oauth_jwt_bearer`,`config`:{"
	    "`client_id`:`c`,`private_key`:`k`,`token_url`:`https://a.example.com/t`,"
	    "`subject`:`s`,`audience`:`a`,`token_ttl`:`3600`}}"), 0, 0, REG_E_AUTH,
	    "connectors[0].authentication.config.token_ttl", 0, 0 },
	{ C1(NU ",`authentication`:{`type`:`oauth_jwt_bearer`,`config`:{"
	    "`client_id`:`c`,`private_key`:`k`,`token_url`:`https://a.example.com/t`,"
	    "`subject`:`s`,`audience`:`a`,`token_ttl`:0}}"), 0, 0, REG_E_AUTH,
	    "connectors[0].authentication.config.token_ttl", 0, 0 },
	{ C1(NU ",`authentication`:{`type`:`oauth_jwt_bearer`,`config`:{"
	    "`client_id`:`c`,`private_key`:`k`,`token_url`:`https://a.example.com/t`,"
	    "`subject`:`s`,`audience`:`a`,`token_ttl`:1.5}}"), 0, 0, REG_E_AUTH,
	    "connectors[0].authentication.config.token_ttl", 0, 0 },

	/* get_secret() names its secret literally: the keeper knows which. */
	{ C1(NU ",`headers`:[{`key`:`X-K`,`value`:`{{ get_secret(user.id) }}`}]"),
	    0, 0, REG_E_TEMPLATE, "connectors[0].headers[0].value", 0, 0 },
	{ C1(NU ",`authentication`:{`type`:`api_key`,`config`:{`key`:`K`,"
	    "`value`:`{{ get_secret('a' ~ 'b') }}`}}"), 0, 0, REG_E_TEMPLATE,
	    "connectors[0].authentication.config.value", 0, 0 },

	/* --- bodies and content type ------------------------------------- */
	{ C1(NU ",`request_body`:`{{ get_secret('k') }}`"), 0, 0, REG_E_TEMPLATE,
	    "connectors[0].request_body", 0, 0 },
	{ C1(NU ",`request_body`:`{{ get_variable('k') }}`"), 0, 0,
	    REG_E_TEMPLATE, "connectors[0].request_body", 0, 0 },
	{ C1(NU ",`response_body`:`{{ get_secret('k') }}`"), 0, 0,
	    REG_E_TEMPLATE, "connectors[0].response_body", 0, 0 },
	{ C1(NU ",`response_body`:`{{ body_text }}`"), 0, 0, REG_E_TEMPLATE,
	    "connectors[0].response_body", 0, 0 },
	{ C1(NU ",`response_body`:{}"), 0, 0, REG_E_TYPE,
	    "connectors[0].response_body", 0, 0 },
	{ C1(NU ",`response_content_type`:`@NAME256`"), 0, 0, REG_E_LENGTH,
	    "connectors[0].response_content_type", 0, 0 },
	{ C1(NU ",`response_content_type`:`text/plain\\r\\nX: y`"), 0, 0,
	    REG_E_VALUE, "connectors[0].response_content_type", 0, 0 },

	/* --- composite connectors ---------------------------------------- */
	{ "{`composite_connectors`:[{`name`:`C`}]}", 0, 0, REG_E_MISSING,
	    "composite_connectors[0].steps", 0, 0 },
	{ COMP(""), 0, 0, REG_E_STEPS, "composite_connectors[0].steps", 0, 0 },
	{ "{`composite_connectors`:[{`name`:`C`,`steps`:{}}]}", 0, 0, REG_E_TYPE,
	    "composite_connectors[0].steps", 0, 0 },
	{ COMP("1"), 0, 0, REG_E_TYPE, "composite_connectors[0].steps[0]", 0, 0 },
	{ COMP("{`url`:`https://a.example.com/`}"), 0, 0, REG_E_MISSING,
	    "composite_connectors[0].steps[0].name", 0, 0 },
	{ COMP("{`name`:`Fetch User`,`url`:`https://a.example.com/`}"), 0, 0,
	    REG_E_VALUE, "composite_connectors[0].steps[0].name", 0, 0 },
	{ COMP(STEP("") "," STEP("")), 0, 0, REG_E_DUP_STEP,
	    "composite_connectors[0].steps[1].name", 0, 0 },
	{ COMP("{`name`:`s`}"), 0, 0, REG_E_MISSING,
	    "composite_connectors[0].steps[0].url", 0, 0 },
	{ COMP("{`name`:`s`,`url`:`https://a.example.com/{{ get_secret('x') }}`}"),
	    0, 0, REG_E_TEMPLATE, "composite_connectors[0].steps[0].url", 0, 0 },
	{ COMP(STEP(",`response_body`:`{{ jwt_encode({}, 'k', 'HS256') }}`")), 0, 0,
	    REG_E_TEMPLATE, "composite_connectors[0].steps[0].response_body", 0, 0 },
	{ COMP(STEP(",`request_body`:`{{ get_secret('k') }}`")), 0, 0,
	    REG_E_TEMPLATE, "composite_connectors[0].steps[0].request_body", 0, 0 },
	{ COMP("{`name`:`s`,`url`:`https://127.0.0.1/`}"), 0, 0, REG_E_URL,
	    "composite_connectors[0].steps[0].url", 0, 0 },
	{ COMP("{`name`:`s`,`url`:`https://a.example.com/{{ pathParams.x }}`}"),
	    0, 0, "*", "composite_connectors[0].steps[0].url", 0, 0 },
	{ COMP(STEP(",`headers`:[{`key`:`a`,`value`:`1`},{`key`:`A`,`value`:`2`}]")),
	    0, 0, REG_E_DUP_KEY, "composite_connectors[0].steps[0].headers[1].key",
	    0, 0 },
	{ COMP(STEP(",`authentication`:{`type`:`jwt`,`config`:{`private_key`:`k`,"
	    "`claims`:{},`algorithm`:`HS1`}}")), 0, 0, REG_E_AUTH,
	    "composite_connectors[0].steps[0].authentication.config.algorithm",
	    0, 0 },
	{ "{`composite_connectors`:[{`steps`:[" STEP("") "]}]}", 0, 0,
	    REG_E_MISSING, "composite_connectors[0].name", 0, 0 },
	/* The optional numeric id (SPEC §9). */
	{ "{`composite_connectors`:[{`name`:`C`,`id`:9007199254740991,"
	    "`steps`:[" STEP("") "]}]}", 0, 0, NULL, NULL, 0, 0 },
	{ "{`composite_connectors`:[{`name`:`C`,`id`:0,`steps`:[" STEP("")
	    "]}]}", 0, 0, REG_E_VALUE, "composite_connectors[0].id", 1, 43 },
	{ "{`composite_connectors`:[{`name`:`C`,`id`:9007199254740992,"
	    "`steps`:[" STEP("") "]}]}", 0, 0, REG_E_VALUE,
	    "composite_connectors[0].id", 0, 0 },
	{ "{`composite_connectors`:[{`name`:`C`,`id`:1.5,`steps`:[" STEP("")
	    "]}]}", 0, 0, REG_E_VALUE, "composite_connectors[0].id", 0, 0 },
	{ "{`composite_connectors`:[{`name`:`C`,`id`:`7`,`steps`:[" STEP("")
	    "]}]}", 0, 0, REG_E_VALUE, "composite_connectors[0].id", 0, 0 },
	{ "{`composite_connectors`:[{`name`:`C`,`id`:-3,`steps`:[" STEP("")
	    "]}]}", 0, 0, REG_E_VALUE, "composite_connectors[0].id", 0, 0 },
	{ "{`composite_connectors`:[{`name`:`C`,`id`:7,`steps`:[" STEP("")
	    "]},{`name`:`D`,`id`:7,`steps`:[" STEP("") "]}]}", 0, 0,
	    REG_E_DUP_ID, "composite_connectors[1].id", 0, 0 },
	{ "{`composite_connectors`:[{`name`:`C`,`permalink`:`12`,`steps`:["
	    STEP("") "]},{`name`:`D`,`id`:12,`steps`:[" STEP("") "]}]}", 0, 0,
	    REG_E_DUP_ID, "composite_connectors[1].id", 0, 0 },
	/* Its own permalink may be its id; simple connectors are apart. */
	{ "{`composite_connectors`:[{`name`:`C`,`permalink`:`12`,`id`:12,"
	    "`steps`:[" STEP("") "]}],`connectors`:[{`name`:`X`,`permalink`:"
	    "`13`," U "}]}", 0, 0, NULL, NULL, 0, 0 },

	/* --- Code Mode --------------------------------------------------- */
	{ "[1]", MODE_CODE, 0, REG_E_TYPE, "", 0, 0 },
	{ "{`name`:`A`}", MODE_CODE, 0, REG_E_MISSING, "url", 0, 0 },
	{ "{" NU ",`headers`:[{`key`:`a`,`value`:`1`},{`key`:`a`,`value`:`2`}]}",
	    MODE_CODE, 0, REG_E_DUP_KEY, "headers[1].key", 0, 0 },
	{ "{" NU ",\n  `method`:`GRAB`}", MODE_CODE, 0, REG_E_VALUE, "method", 2, 12 },
};

/* Expand the @NAME256 / @VAL1001 / @URL2049 markers and swap ` for ". */
static char *
doc_json(const char *src, size_t *lenp)
{
	static const struct {
		const char	*m;
		size_t		 n;
	} marks[] = { { "@NAME256", 256 }, { "@VAL1001", 1001 },
	    { "@URL2049", 2049 - 24 } };
	char	*out, *o;
	size_t	 i, k;

	out = malloc(strlen(src) + 4096);
	ck_assert_ptr_nonnull(out);
	for (o = out, i = 0; src[i] != '\0'; ) {
		for (k = 0; k < sizeof(marks) / sizeof(marks[0]); k++)
			if (strncmp(src + i, marks[k].m, strlen(marks[k].m)) == 0)
				break;
		if (k < sizeof(marks) / sizeof(marks[0])) {
			memcpy(o, big_a, marks[k].n);
			o += marks[k].n;
			i += strlen(marks[k].m);
			continue;
		}
		*o++ = src[i] == '`' ? '"' : src[i];
		i++;
	}
	*o = '\0';
	*lenp = o - out;
	return out;
}

static void
local_policy(struct netpolicy *np)
{
	memset(np, 0, sizeof(*np));
	np->np_allow = calloc(2, sizeof(*np->np_allow));
	ck_assert_ptr_nonnull(np->np_allow);
	ck_assert_int_eq(netpolicy_parse_net("127.0.0.0/8", &np->np_allow[0]), 1);
	ck_assert_int_eq(netpolicy_parse_net("10.0.0.0/8", &np->np_allow[1]), 1);
	np->np_nallow = 2;
	np->np_allow_http = 1;
}

static void
setup(void)
{
	big_a = malloc(4096);
	memset(big_a, 'a', 4096);
}

static void
teardown(void)
{
	free(big_a);
}

static struct registry *
load_doc(const struct doc *d, struct reg_report *rep)
{
	struct netpolicy	 np;
	struct registry		*r;
	char			*json;
	size_t			 len;

	json = doc_json(d->d_json, &len);
	memset(&np, 0, sizeof(np));
	if (d->d_pol == POL_LOCAL)
		local_policy(&np);
	if (d->d_mode == MODE_CODE)
		r = registry_load_codemode_buffer("doc.json", json, len,
		    d->d_pol == POL_LOCAL ? &np : NULL, rep);
	else
		r = registry_load_buffer("doc.json", json, len,
		    d->d_pol == POL_LOCAL ? &np : NULL, rep);
	netpolicy_clear(&np);
	free(json);
	return r;
}

START_TEST(test_docs)
{
	const struct doc	*d = &docs[_i];
	struct reg_report	 rep;
	struct registry		*r;
	const struct reg_error	*e;
	size_t			 k;

	memset(&rep, 0, sizeof(rep));
	r = load_doc(d, &rep);
	if (d->d_class == NULL) {
		if (r == NULL)
			reg_report_print(&rep, stderr);
		ck_assert_msg(r != NULL, "doc %d should load: %s", _i, d->d_json);
		ck_assert_uint_eq(rep.rr_nerrors, 0);
		goto out;
	}
	ck_assert_msg(r == NULL, "doc %d should be rejected: %s", _i, d->d_json);
	ck_assert_uint_ge(rep.rr_nerrors, 1);
	/* The expected error is among those reported (exact path and class). */
	for (k = 0; k < rep.rr_nerrors; k++) {
		e = &rep.rr_errors[k];
		if (strcmp(e->re_path, d->d_path) == 0 &&
		    (strcmp(d->d_class, "*") == 0 ||
		    strcmp(e->re_class, d->d_class) == 0))
			break;
	}
	if (k == rep.rr_nerrors)
		reg_report_print(&rep, stderr);
	ck_assert_msg(k < rep.rr_nerrors, "doc %d: no %s error at %s", _i,
	    d->d_class, d->d_path);
	e = &rep.rr_errors[k];
	ck_assert_str_eq(e->re_file, "doc.json");
	ck_assert_ptr_nonnull(e->re_msg);
	ck_assert_int_gt(strlen(e->re_msg), 0);
	if (d->d_line != 0) {
		ck_assert_int_eq(e->re_line, d->d_line);
		ck_assert_int_eq(e->re_col, d->d_col);
	} else if (strcmp(e->re_class, REG_E_IO) != 0)
		ck_assert_int_gt(e->re_line, 0);	/* every error has a position */
 out:
	registry_free(r);
	reg_report_clear(&rep);
}
END_TEST

/* All-or-nothing, and every error listed, not only the first. */
START_TEST(test_all_errors)
{
	struct doc		 d = { "{`connectors`:[{`name`:`ok`," U "},"
	    "{`name`:`x`,`url`:`http://a.example.com/`,`method`:`NOPE`},"
	    "{`url`:`https://localhost/`}]}", 0, 0, NULL, NULL, 0, 0 };
	struct reg_report	 rep;
	struct registry		*r;

	memset(&rep, 0, sizeof(rep));
	r = load_doc(&d, &rep);
	ck_assert_ptr_null(r);
	ck_assert_uint_eq(rep.rr_nerrors, 4);
	ck_assert_str_eq(rep.rr_errors[0].re_path, "connectors[1].url");
	ck_assert_str_eq(rep.rr_errors[0].re_name, "x");
	ck_assert_str_eq(rep.rr_errors[0].re_permalink, "x");
	ck_assert_str_eq(rep.rr_errors[1].re_path, "connectors[1].method");
	ck_assert_str_eq(rep.rr_errors[2].re_path, "connectors[2].name");
	ck_assert_str_eq(rep.rr_errors[3].re_path, "connectors[2].url");
	reg_report_clear(&rep);
	ck_assert_uint_eq(rep.rr_nerrors, 0);
}
END_TEST

START_TEST(test_syntax_linecol)
{
	const char		*json = "{\n  \"connectors\": [\n    {},\n  ]\n}";
	struct reg_report	 rep;

	memset(&rep, 0, sizeof(rep));
	ck_assert_ptr_null(registry_load_buffer("r.json", json, strlen(json),
	    NULL, &rep));
	ck_assert_uint_eq(rep.rr_nerrors, 1);
	ck_assert_str_eq(rep.rr_errors[0].re_class, REG_E_JSON);
	ck_assert_int_eq(rep.rr_errors[0].re_line, 4);
	ck_assert_int_eq(rep.rr_errors[0].re_col, 3);
	ck_assert_ptr_nonnull(strstr(rep.rr_errors[0].re_msg, "trailing comma"));
	reg_report_clear(&rep);

	/* Columns count characters, not bytes. */
	json = "{\"connectors\": [{\"name\": \"\xc3\xa9\xc3\xa9\", x}]}";
	ck_assert_ptr_null(registry_load_buffer("r.json", json, strlen(json),
	    NULL, &rep));
	ck_assert_int_eq(rep.rr_errors[0].re_line, 1);
	ck_assert_int_eq(rep.rr_errors[0].re_col, 32);
	reg_report_clear(&rep);
}
END_TEST

/*
 * A template error points into the JSON string at the offending
 * expression, through escapes (\n, \u, surrogate pairs), and names the
 * template's own line:col in the message.
 */
START_TEST(test_template_linecol)
{
	const char		*json = "{\"connectors\":[{\"name\":\"A\","
	    "\"url\":\"https://a.example.com/{{ pathParams.id }}\","
	    "\"request_body\":\"x\\n{{ get_secret(\\\"k\\\") }}\", "
	    "\"headers\":[{\"key\":\"a\",\"value\":"
	    "\"\\u00e9\\ud83d\\ude00{{ body_text }}\"}]}]}";
	struct reg_report	 rep;
	const struct reg_error	*e;
	size_t			 i;
	int			 seen = 0;

	memset(&rep, 0, sizeof(rep));
	ck_assert_ptr_null(registry_load_buffer("t.json", json, strlen(json),
	    NULL, &rep));
	ck_assert_uint_eq(rep.rr_nerrors, 3);
	for (i = 0; i < rep.rr_nerrors; i++) {
		e = &rep.rr_errors[i];
		ck_assert_int_eq(e->re_line, 1);
		if (strcmp(e->re_path, "connectors[0].headers[0].value") == 0) {
			ck_assert_int_eq(e->re_col, 175);	/* body_text */
			ck_assert_ptr_nonnull(strstr(e->re_msg, "template 1:6:"));
			seen |= 1;
		} else if (strcmp(e->re_path, "connectors[0].request_body") == 0) {
			ck_assert_int_eq(e->re_col, 100);	/* get_secret( */
			ck_assert_ptr_nonnull(strstr(e->re_msg, "template 2:4:"));
			seen |= 2;
		} else if (strcmp(e->re_path, "connectors[0].url") == 0) {
			ck_assert_str_eq(e->re_class, REG_E_PATHPARAMS);
			ck_assert_int_eq(e->re_col, 60);	/* pathParams.id */
			seen |= 4;
		}
	}
	ck_assert_int_eq(seen, 7);
	reg_report_clear(&rep);
}
END_TEST

START_TEST(test_report_print)
{
	struct doc		 d = { C1("`name`:`Weather API`,`url`:"
	    "`https://localhost/`"), 0, 0, NULL, NULL, 0, 0 };
	struct reg_report	 rep;
	char			*buf = NULL;
	size_t			 len = 0;
	FILE			*fp;

	memset(&rep, 0, sizeof(rep));
	ck_assert_ptr_null(load_doc(&d, &rep));
	fp = open_memstream(&buf, &len);
	ck_assert_ptr_nonnull(fp);
	reg_report_print(&rep, fp);
	fclose(fp);
	ck_assert_str_eq(buf, "doc.json:1:44: connector 'Weather API' "
	    "(weather-api): connectors[0].url: the host 'localhost' is not "
	    "allowed: localhost is never an upstream [url]\n");
	ck_assert_str_eq(rep.rr_errors[0].re_connector,
	    "Weather API (weather-api)");
	free(buf);
	reg_report_clear(&rep);
}
END_TEST

/* The model the worker and keeper use: defaults, normalisation, lookups. */
START_TEST(test_model)
{
	struct doc		 d = { "{`connectors`:["
	    "{`name`:`Weather API`,`url`:`https://api.example.com/w/{{ pathParams.c }}`,"
	    " `path_parameters`:[{`key`:`c`,`value`:`paris`}],"
	    " `headers`:[{`key`:`X-User`,`value`:`{{ user.id }}`}],"
	    " `query_parameters`:[{`key`:`q`,`value`:`x`,`overridable`:true}],"
	    " `authentication`:{`type`:`apikey`,`config`:{`key`:`k`,"
	    "  `value`:`{{ get_secret('s') }}`}}},"
	    "{`name`:`B`,`permalink`:`bee`,`method`:`patch`,"
	    " `url`:`{{ get_variable('base') }}/x`,"
	    " `authentication`:{`type`:`oauth_jwt_bearer`,`config`:{"
	    "  `client_id`:`c`,`private_key`:`k`,`token_url`:`https://t.example.com/`,"
	    "  `subject`:`s`,`audience`:`a`}}}],"
	    "`composite_connectors`:[{`name`:`Weather API`,`steps`:["
	    STEP("") "]}]}", 0, 0, NULL, NULL, 0, 0 };
	struct reg_report	 rep;
	struct registry		*r;
	const struct connector	*c;
	const struct composite	*cc;

	memset(&rep, 0, sizeof(rep));
	r = load_doc(&d, &rep);
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(registry_nconnectors(r), 2);
	ck_assert_uint_eq(registry_ncomposites(r), 1);

	c = registry_connector(r, "weather-api");
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(c->c_name, "Weather API");
	ck_assert_int_eq(c->c_req.cr_method, CONN_GET);
	ck_assert_str_eq(conn_method_name(c->c_req.cr_method), "GET");
	ck_assert_uint_eq(c->c_req.cr_nheaders, 1);
	ck_assert_str_eq(c->c_req.cr_headers[0].cp_key, "X-User");
	ck_assert_str_eq(c->c_req.cr_headers[0].cp_value.ct_src, "{{ user.id }}");
	ck_assert_ptr_nonnull(c->c_req.cr_headers[0].cp_value.ct_tmpl);
	ck_assert_int_eq(c->c_req.cr_headers[0].cp_overridable, 0);
	ck_assert_int_eq(c->c_req.cr_query[0].cp_overridable, 1);
	ck_assert(c->c_req.cr_header_query_uses & TMPL_USES_USER);
	/* Every template of the request: the URL, a header, the key. */
	ck_assert_uint_eq(c->c_req.cr_uses, TMPL_USES_USER |
	    TMPL_USES_PATHPARAMS | TMPL_USES_SECRET);
	ck_assert_uint_eq(c->c_npath, 1);
	ck_assert_str_eq(c->c_path[0].cp_value.ct_src, "paris");
	ck_assert_int_eq(c->c_req.cr_auth.ca_type, CONN_AUTH_API_KEY);
	ck_assert_str_eq(conn_auth_name(c->c_req.cr_auth.ca_type), "api_key");
	ck_assert_int_eq(c->c_req.cr_auth.ca_in, CONN_IN_HEADER);
	ck_assert_int_eq(c->c_req.cr_origin_literal, 1);
	ck_assert_str_eq(c->c_req.cr_origin.ct_src, "https://api.example.com");
	ck_assert_ptr_null(c->c_req.cr_request_body.ct_tmpl);
	ck_assert_str_eq(c->c_req.cr_request_body.ct_src, "");
	ck_assert_str_eq(c->c_req.cr_response_content_type, "");
	ck_assert_int_eq(c->c_line, 1);

	c = registry_connector(r, "bee");
	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(c->c_index, 1);
	ck_assert_ptr_eq(c, &r->r_conns[1]);
	ck_assert_int_eq(c->c_req.cr_method, CONN_PATCH);
	ck_assert_int_eq(c->c_req.cr_origin_literal, 0);
	ck_assert_str_eq(c->c_req.cr_origin.ct_src,
	    "{{ get_variable('base') }}");
	ck_assert_int_eq(c->c_req.cr_auth.ca_type, CONN_AUTH_OAUTH_JWT_BEARER);
	ck_assert_int_eq(c->c_req.cr_auth.ca_token_ttl, 3600);
	ck_assert_str_eq(c->c_req.cr_auth.ca_algorithm, "RS256");
	ck_assert_uint_eq(c->c_req.cr_uses, TMPL_USES_VARIABLE);

	ck_assert_ptr_null(registry_connector(r, "b"));
	ck_assert_ptr_null(registry_connector(r, "zzz"));
	/* Separate namespaces: the composite has the same permalink. */
	cc = registry_composite(r, "weather-api");
	ck_assert_ptr_nonnull(cc);
	ck_assert_uint_eq(cc->cc_nsteps, 1);
	ck_assert_str_eq(cc->cc_steps[0].cs_name, "s1");
	ck_assert_uint_eq(cc->cc_steps[0].cs_req.cr_uses, 0);
	ck_assert_ptr_null(registry_composite(r, "bee"));
	ck_assert_uint_eq(cc->cc_id, 0);
	registry_free(r);
	reg_report_clear(&rep);
}
END_TEST

/* A composite is found by permalink, then by its numeric id. */
START_TEST(test_composite_id)
{
	struct doc		 d = { "{`composite_connectors`:["
	    "{`name`:`A`,`id`:42,`steps`:[" STEP("") "]},"
	    "{`name`:`B`,`permalink`:`7`,`steps`:[" STEP("") "]},"
	    "{`name`:`C`,`id`:7000,`steps`:[" STEP("") "]}]}",
	    0, 0, NULL, NULL, 0, 0 };
	struct reg_report	 rep;
	struct registry		*r;

	memset(&rep, 0, sizeof(rep));
	r = load_doc(&d, &rep);
	ck_assert_ptr_nonnull(r);
	ck_assert_ptr_eq(registry_composite_find(r, "a"), &r->r_comps[0]);
	ck_assert_ptr_eq(registry_composite_find(r, "42"), &r->r_comps[0]);
	ck_assert_uint_eq(r->r_comps[0].cc_id, 42);
	ck_assert_ptr_eq(registry_composite_find(r, "7"), &r->r_comps[1]);
	ck_assert_ptr_eq(registry_composite_find(r, "7000"), &r->r_comps[2]);
	/* One spelling per id: no sign, no leading zero, no blank. */
	ck_assert_ptr_null(registry_composite_find(r, "042"));
	ck_assert_ptr_null(registry_composite_find(r, "+42"));
	ck_assert_ptr_null(registry_composite_find(r, "42 "));
	ck_assert_ptr_null(registry_composite_find(r, "4.2e1"));
	ck_assert_ptr_null(registry_composite_find(r, "0"));
	ck_assert_ptr_null(registry_composite_find(r, "43"));
	ck_assert_ptr_null(registry_composite_find(r,
	    "18446744073709551658"));
	ck_assert_ptr_null(registry_composite_find(r, ""));
	registry_free(r);
	reg_report_clear(&rep);
}
END_TEST

START_TEST(test_slug)
{
	ck_assert(connector_slug_valid("a", 1));
	ck_assert(connector_slug_valid("a-1-b2", 6));
	ck_assert(!connector_slug_valid("", 0));
	ck_assert(!connector_slug_valid("a-", 2));
	ck_assert(!connector_slug_valid("A", 1));
	ck_assert(!connector_slug_valid("a b", 3));
}
END_TEST

/* Files: a missing one is an io error; a Code Mode file auto-detected. */
START_TEST(test_files)
{
	struct reg_report	 rep;
	struct registry		*r;
	char			 path[] = "/tmp/check_connector.XXXXXX";
	const char		*body = "{\"name\":\"Hello\",\"url\":\"https://x.example.com/\"}";
	int			 fd, isreg = -1;

	memset(&rep, 0, sizeof(rep));
	ck_assert_ptr_null(registry_load_file("/nonexistent/r.json", NULL, &rep));
	ck_assert_uint_eq(rep.rr_nerrors, 1);
	ck_assert_str_eq(rep.rr_errors[0].re_class, REG_E_IO);
	reg_report_clear(&rep);

	fd = mkstemp(path);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(write(fd, body, strlen(body)), (int)strlen(body));
	close(fd);
	r = registry_load_any(path, NULL, &rep, &isreg);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(isreg, 0);
	ck_assert_ptr_nonnull(registry_connector(r, "hello"));
	registry_free(r);
	r = registry_load_codemode(path, NULL, &rep);
	ck_assert_ptr_nonnull(r);
	registry_free(r);
	/* As a registry the same file is empty (unknown fields ignored). */
	r = registry_load_file(path, NULL, &rep);
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(registry_nconnectors(r), 0);
	registry_free(r);
	unlink(path);
	reg_report_clear(&rep);
}
END_TEST

/* Every shipped example loads with the default policy. */
START_TEST(test_examples)
{
	struct reg_report	 rep;
	struct registry		*r;
	struct dirent		*de;
	DIR			*dir;
	struct widgetd_config	*cfg;
	const char		*top = getenv("top_srcdir");
	char			 path[4096];
	int			 n = 0, isreg;

	if (top == NULL)
		top = ".";
	memset(&rep, 0, sizeof(rep));
	snprintf(path, sizeof(path), "%s/contrib/examples", top);
	dir = opendir(path);
	ck_assert_msg(dir != NULL, "%s: cannot open", path);
	while ((de = readdir(dir)) != NULL) {
		size_t l = strlen(de->d_name);

		if (l < 5 || strcmp(de->d_name + l - 5, ".json") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/contrib/examples/%s", top,
		    de->d_name);
		r = registry_load_any(path, NULL, &rep, &isreg);
		if (r == NULL)
			reg_report_print(&rep, stderr);
		ck_assert_msg(r != NULL, "%s does not load", path);
		ck_assert_uint_ge(registry_nconnectors(r) +
		    registry_ncomposites(r), 1);
		registry_free(r);
		n++;
	}
	closedir(dir);
	ck_assert_int_ge(n, 7);
	/*
	 * The quick start's registry calls a loopback demo over plain HTTP:
	 * refused by the default policy, loaded under etc/widgetd.conf's.
	 */
	snprintf(path, sizeof(path), "%s/etc/connectors_registry.json", top);
	r = registry_load_file(path, NULL, &rep);
	ck_assert_ptr_null(r);
	reg_report_clear(&rep);
	snprintf(path, sizeof(path), "%s/etc/widgetd.conf", top);
	cfg = config_load(path, NULL, NULL);
	ck_assert_ptr_nonnull(cfg);
	snprintf(path, sizeof(path), "%s/etc/connectors_registry.json", top);
	r = registry_load_file(path, &cfg->c_egress.policy, &rep);
	if (r == NULL)
		reg_report_print(&rep, stderr);
	ck_assert_ptr_nonnull(r);
	ck_assert_ptr_nonnull(registry_connector(r, "weather"));
	ck_assert_ptr_nonnull(registry_connector(r, "echo"));
	ck_assert_ptr_nonnull(registry_connector(r, "create-note"));
	registry_free(r);
	config_free(cfg);
	reg_report_clear(&rep);
}
END_TEST

Suite *
check_suite(void)
{
	Suite	*s = suite_create("connector");
	TCase	*tc = tcase_create("registry");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_docs, 0, sizeof(docs) / sizeof(docs[0]));
	tcase_add_test(tc, test_all_errors);
	tcase_add_test(tc, test_syntax_linecol);
	tcase_add_test(tc, test_template_linecol);
	tcase_add_test(tc, test_report_print);
	tcase_add_test(tc, test_model);
	tcase_add_test(tc, test_composite_id);
	tcase_add_test(tc, test_slug);
	tcase_add_test(tc, test_files);
	tcase_add_test(tc, test_examples);
	suite_add_tcase(s, tc);
	return s;
}
