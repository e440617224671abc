/*
 * check_cors.c — cors.origins (normalising, bounds, defaults) and the SDK
 * assets' lookup and ETag matching.
 */
#include "build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "config.h"
#include "cors.h"
#include "cachehdr.h"
#include "sdk_assets.h"

static void
norm_is(const char *in, const char *want)
{
	const char	*why = NULL;
	char		*o;

	o = cors_origin_norm(in, &why);
	ck_assert_msg(o != NULL, "%s: %s", in, why != NULL ? why : "?");
	ck_assert_str_eq(o, want);
	free(o);
}

static void
norm_refused(const char *in, const char *why_part)
{
	const char	*why = NULL;
	char		*o;

	o = cors_origin_norm(in, &why);
	ck_assert_msg(o == NULL, "%s accepted as %s", in, o);
	ck_assert_ptr_nonnull(why);
	ck_assert_msg(strstr(why, why_part) != NULL, "%s: %s", in, why);
}

START_TEST(origin_norm)
{
	norm_is("https://Community.ACME.example", "https://community.acme.example");
	norm_is("HTTP://127.0.0.1:8080", "http://127.0.0.1:8080");
	/* Browsers never name the scheme's own port. */
	norm_is("https://a.example:443", "https://a.example");
	norm_is("http://a.example:80", "http://a.example");
	norm_is("http://a.example:443", "http://a.example:443");
	norm_is("https://[::1]:8443", "https://[::1]:8443");
	norm_is("http://[FE80::1]", "http://[fe80::1]");
}
END_TEST

START_TEST(origin_refused)
{
	char	 longer[300];

	norm_refused("*", "no wildcards");
	norm_refused("null", "no wildcards");
	norm_refused("https://*.acme.example", "not a host name");
	norm_refused("ftp://a.example", "http");
	norm_refused("https://a.example/", "no path");
	norm_refused("https://a.example/x", "no path");
	norm_refused("https://a.example?x", "no path");
	norm_refused("https://user@a.example", "no path, query, user");
	norm_refused("https://a.example:0", "bad port");
	norm_refused("https://a.example:65536", "bad port");
	norm_refused("https://a.example:08080", "bad port");
	norm_refused("https://a.example:", "bad port");
	norm_refused("https://", "not a host name");
	norm_refused("https://a..example", "not a host name");
	norm_refused("https://[::zz]", "IPv6");
	norm_refused("https://[::1", "IPv6");
	memset(longer, 'a', sizeof(longer) - 1);
	memcpy(longer, "https://", 8);
	longer[sizeof(longer) - 1] = '\0';
	norm_refused(longer, "255");
}
END_TEST

static char	 errs[4096];

static void
collect(const char *msg, void *arg)
{
	strncat(errs, msg, sizeof(errs) - strlen(errs) - 2);
	strcat(errs, "\n");
}

static struct widgetd_config *
load(const char *tenant_extra)
{
	char	 text[2048];

	snprintf(text, sizeof(text), "listen = ( { address = \"127.0.0.1\"; "
	    "port = 8080; } );\ntenants = ( { id = \"t\"; registry = \"r.json\";"
	    " store = \"s\";\n%s } );\n", tenant_extra);
	errs[0] = '\0';
	return config_load_text("/etc/w.conf", text, strlen(text), collect,
	    NULL);
}

START_TEST(config_cors)
{
	struct widgetd_config	*c;
	const struct conf_cors	*co;

	/* Absent: no origin, the default max_age. */
	ck_assert_ptr_nonnull(c = load(""));
	co = &c->c_tenants[0].t_cors;
	ck_assert_uint_eq(co->co_norigins, 0);
	ck_assert_int_eq(co->co_max_age, CONF_CORS_MAX_AGE);
	config_free(c);

	ck_assert_ptr_nonnull(c = load("cors = { origins = [ "
	    "\"https://Hub.example:443\", \"http://127.0.0.1:9000\" ]; "
	    "max_age = 0; };"));
	co = &c->c_tenants[0].t_cors;
	ck_assert_uint_eq(co->co_norigins, 2);
	ck_assert_str_eq(co->co_origins[0], "https://hub.example");
	ck_assert_str_eq(co->co_origins[1], "http://127.0.0.1:9000");
	ck_assert_int_eq(co->co_max_age, 0);
	config_free(c);
}
END_TEST

START_TEST(config_cors_refused)
{
	struct widgetd_config	*c;
	char			 many[4096];
	int			 i;

	c = load("cors = { origins = [ \"https://a.example/\" ]; };");
	ck_assert_ptr_null(c);
	ck_assert_msg(strstr(errs, "/etc/w.conf:4: tenants.[0].cors.origins.[0]") !=
	    NULL || strstr(errs, "cors.origins") != NULL, "%s", errs);
	ck_assert_msg(strstr(errs, "no path") != NULL, "%s", errs);

	c = load("cors = { origins = [ \"https://a.example\", "
	    "\"https://A.example:443\" ]; };");
	ck_assert_ptr_null(c);
	ck_assert_msg(strstr(errs, "listed twice") != NULL, "%s", errs);

	c = load("cors = { max_age = 86401; };");
	ck_assert_ptr_null(c);
	ck_assert_msg(strstr(errs, "out of range (0 to 86400)") != NULL, "%s",
	    errs);

	c = load("cors = { origin = [ \"https://a.example\" ]; };");
	ck_assert_ptr_null(c);
	ck_assert_msg(strstr(errs, "origin") != NULL, "%s", errs);

	c = load("cors = { origins = \"https://a.example\"; };");
	ck_assert_ptr_null(c);

	strcpy(many, "cors = { origins = [ ");
	for (i = 0; i < CONF_CORS_MAX_ORIGINS + 1; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many),
		    "%s\"https://h%d.example\"", i ? ", " : "", i);
	strcat(many, " ]; };");
	c = load(many);
	ck_assert_ptr_null(c);
	ck_assert_msg(strstr(errs, "65 entries; at most 64") != NULL, "%s", errs);
}
END_TEST

START_TEST(assets)
{
	const struct sdk_asset	*js, *mjs, *dts;

	ck_assert_ptr_nonnull(js = sdk_asset_find("widget-sdk.js"));
	ck_assert_ptr_nonnull(mjs = sdk_asset_find("widget-sdk.mjs"));
	ck_assert_ptr_nonnull(dts = sdk_asset_find("widget-sdk.d.ts"));
	ck_assert_ptr_null(sdk_asset_find("widget-sdk"));
	ck_assert_ptr_null(sdk_asset_find("../widget-sdk.js"));
	ck_assert_msg(strstr((const char *)js->sa_data,
	    "root.WidgetServiceSDK = sdk") != NULL, "UMD wrapper");
	ck_assert_msg(strstr((const char *)mjs->sa_data,
	    "export default WidgetServiceSDK") != NULL, "ES module");
	ck_assert_msg(strstr((const char *)dts->sa_data,
	    "export class WidgetServiceSDK") != NULL, "declarations");
	ck_assert_uint_eq(strlen((const char *)js->sa_data), js->sa_len);
	ck_assert_str_eq(js->sa_ctype, "text/javascript; charset=utf-8");
	/* Different files, different tags; strong, quoted. */
	ck_assert_str_ne(js->sa_etag, mjs->sa_etag);
	ck_assert_int_eq(js->sa_etag[0], '"');
	ck_assert_uint_eq(strlen(js->sa_etag), 34);
}
END_TEST

START_TEST(etag_match)
{
	ck_assert_int_eq(cachehdr_inm_match(NULL, "\"a\""), 0);
	ck_assert_int_eq(cachehdr_inm_match("\"a\"", "\"a\""), 1);
	ck_assert_int_eq(cachehdr_inm_match("W/\"a\"", "\"a\""), 1);
	ck_assert_int_eq(cachehdr_inm_match("\"b\", W/\"a\"", "\"a\""), 1);
	ck_assert_int_eq(cachehdr_inm_match(" \"b\" ,\"c\"", "\"a\""), 0);
	ck_assert_int_eq(cachehdr_inm_match("*", "\"a\""), 1);
	ck_assert_int_eq(cachehdr_inm_match("\"ab\"", "\"a\""), 0);
	ck_assert_int_eq(cachehdr_inm_match("\"a", "\"a\""), 0);
	ck_assert_int_eq(cachehdr_inm_match("a", "\"a\""), 0);
	ck_assert_int_eq(cachehdr_inm_match("", "\"a\""), 0);
}
END_TEST

Suite *
check_suite(void)
{
	Suite	*s = suite_create("cors");
	TCase	*tc = tcase_create("cors");

	tcase_add_test(tc, origin_norm);
	tcase_add_test(tc, origin_refused);
	tcase_add_test(tc, config_cors);
	tcase_add_test(tc, config_cors_refused);
	tcase_add_test(tc, assets);
	tcase_add_test(tc, etag_match);
	suite_add_tcase(s, tc);
	return s;
}
