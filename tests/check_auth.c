/*
 * check_auth.c — the keeper's authentication pieces that need no network
 * (keeper_auth.c): form encoding of token requests, PEM keys pasted with
 * escaped newlines, and AWS Signature Version 4 against the published AWS
 * test suite's vectors.  The whole flows are in tests/integration/auth_*.py.
 */
#include "build.h"

#include "check_main.h"
#include <stdlib.h>
#include <string.h>

#include "keeper_auth.h"

START_TEST(test_form_encode)
{
	static const struct {
		const char	*in, *out;
	} cases[] = {
		{ "abc-XYZ_0.9*", "abc-XYZ_0.9*" },
		{ "a b", "a+b" },
		{ "s3cr+t/=&", "s3cr%2Bt%2F%3D%26" },
		{ "\xc3\xa9", "%C3%A9" },
		{ "~", "%7E" },
		{ "", "" },
	};
	char	*o;
	size_t	 i, n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		o = kauth_form_encode(cases[i].in, strlen(cases[i].in), &n);
		ck_assert_ptr_nonnull(o);
		ck_assert_str_eq(o, cases[i].out);
		ck_assert_uint_eq(n, strlen(cases[i].out));
		free(o);
	}
}
END_TEST

START_TEST(test_pem_unescape)
{
	const char	*in = "-----BEGIN X-----\\nabc\\ndef\\n-----END X-----";
	char		*o;
	size_t		 n;

	o = kauth_pem_unescape(in, strlen(in), &n);
	ck_assert_str_eq(o, "-----BEGIN X-----\nabc\ndef\n-----END X-----");
	ck_assert_uint_eq(n, strlen(o));
	free(o);
	/* Real newlines and other backslashes are left alone. */
	o = kauth_pem_unescape("a\nb\\tc", 6, &n);
	ck_assert_str_eq(o, "a\nb\\tc");
	free(o);
}
END_TEST

/* aws-sig-v4-test-suite: get-vanilla, get-vanilla-query-order-key-case. */
START_TEST(test_sigv4_vectors)
{
	static const char empty[] =
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
	struct kauth_sigv4	 sv;
	const char		*names[] = { "X-Amz-Date" };
	const char		*values[] = { "20150830T123600Z" };
	char			*a;

	memset(&sv, 0, sizeof(sv));
	sv.sv_key_id = "AKIDEXAMPLE";
	sv.sv_secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
	sv.sv_secretlen = strlen(sv.sv_secret);
	sv.sv_region = "us-east-1";
	sv.sv_service = "service";
	sv.sv_time = 1440938160;	/* 2015-08-30T12:36:00Z */
	a = kauth_sigv4_sign(&sv, "GET", "https://example.amazonaws.com/",
	    names, values, 1, empty);
	ck_assert_ptr_nonnull(a);
	ck_assert_str_eq(a, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/"
	    "us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, "
	    "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1"
	    "d763fbf31");
	free(a);
	a = kauth_sigv4_sign(&sv, "GET", "https://example.amazonaws.com/"
	    "?Param2=value2&Param1=value1", names, values, 1, empty);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(strstr(a, "Signature=b97d918cfa904a5beff61c982a1b"
	    "6f458b799221646efd99d3219ec94cdf2500"));
	free(a);
	/* Another secret, another signature: the key is in the chain. */
	sv.sv_secret = "another";
	sv.sv_secretlen = 7;
	a = kauth_sigv4_sign(&sv, "GET", "https://example.amazonaws.com/",
	    names, values, 1, empty);
	ck_assert_ptr_null(strstr(a, "5fa00fa31553b73ebf19"));
	free(a);
}
END_TEST

Suite *
check_suite(void)
{
	Suite	*s = suite_create("auth");
	TCase	*tc = tcase_create("auth");

	tcase_add_test(tc, test_form_encode);
	tcase_add_test(tc, test_pem_unescape);
	tcase_add_test(tc, test_sigv4_vectors);
	suite_add_tcase(s, tc);
	return s;
}
