/*
 * check_testmode.c — test mode's pieces that need no daemon: the
 * messages' encoding and checked decoding (testmsg.c) and the control
 * socket's HTTP form (control_http.c).
 */
#include "build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/mman.h>

#include <json-c/json.h>

#include "check_main.h"
#include "control_http.h"
#include "ipc.h"
#include "testmsg.h"

static struct ipc_msg
msg_of(const struct ipc_buf *b, size_t len)
{
	struct ipc_msg	 m;

	memset(&m, 0, sizeof(m));
	m.m_data = b->b_data;
	m.m_len = (uint32_t)len;
	m.m_fd = -1;
	return m;
}

START_TEST(req_round_trip)
{
	struct testmsg_header	 hs[2] = { { "X-Path-Params", "id=7" },
				    { "X-Trace", "t 1" } };
	struct testmsg_req	 q, back;
	struct ipc_buf		 b;
	struct ipc_msg		 m;
	size_t			 cut;

	memset(&q, 0, sizeof(q));
	q.tq_tenant = 2;
	q.tq_permalink = "weather";
	q.tq_defname = "definition";
	q.tq_def = "";
	q.tq_query = "units=metric&q=a%20b";
	q.tq_headers = hs;
	q.tq_nheaders = 2;
	q.tq_body = "{\"a\":1}";
	q.tq_bodylen = 7;
	q.tq_has_body = 1;
	ck_assert_int_eq(testmsg_req_encode(&b, &q), 0);
	m = msg_of(&b, b.b_len);
	ck_assert_int_eq(testmsg_req_decode(&m, &back), 0);
	ck_assert_uint_eq(back.tq_tenant, 2);
	ck_assert_str_eq(back.tq_permalink, "weather");
	ck_assert_str_eq(back.tq_query, "units=metric&q=a%20b");
	ck_assert_uint_eq(back.tq_nheaders, 2);
	ck_assert_str_eq(back.tq_headers[1].th_value, "t 1");
	ck_assert_uint_eq(back.tq_bodylen, 7);
	ck_assert_str_eq(back.tq_body, "{\"a\":1}");
	ck_assert_uint_eq(back.tq_has_body, 1);
	testmsg_req_clear(&back);
	/* Every truncation is refused, and leaves nothing allocated. */
	for (cut = 0; cut < b.b_len; cut += 7) {
		m = msg_of(&b, cut);
		ck_assert_int_eq(testmsg_req_decode(&m, &back), -1);
	}
	ipc_buf_clear(&b);

	/* A permalink and a definition at once: refused. */
	q.tq_def = "{}";
	q.tq_deflen = 2;
	ck_assert_int_eq(testmsg_req_encode(&b, &q), 0);
	m = msg_of(&b, b.b_len);
	ck_assert_int_eq(testmsg_req_decode(&m, &back), -1);
	ipc_buf_clear(&b);
	/* Neither: refused too. */
	q.tq_def = "";
	q.tq_deflen = 0;
	q.tq_permalink = "";
	ck_assert_int_eq(testmsg_req_encode(&b, &q), 0);
	m = msg_of(&b, b.b_len);
	ck_assert_int_eq(testmsg_req_decode(&m, &back), -1);
	ipc_buf_clear(&b);
	/* Trailing bytes: refused. */
	q.tq_permalink = "p";
	ck_assert_int_eq(testmsg_req_encode(&b, &q), 0);
	ipc_put_u32(&b, 0);
	m = msg_of(&b, b.b_len);
	ck_assert_int_eq(testmsg_req_decode(&m, &back), -1);
	ipc_buf_clear(&b);
}
END_TEST

START_TEST(def_and_done)
{
	struct testmsg_def	 d, back;
	struct ipc_buf		 b;
	struct ipc_msg		 m;
	char			*why;
	int			 ok;

	memset(&d, 0, sizeof(d));
	d.td_slot = 3;
	d.td_tenant = 1;
	d.td_name = "draft.json";
	d.td_def = "{\"name\":\"x\"}";
	d.td_deflen = strlen(d.td_def);
	ck_assert_int_eq(testmsg_def_encode(&b, &d), 0);
	m = msg_of(&b, b.b_len);
	ck_assert_int_eq(testmsg_def_decode(&m, &back), 0);
	ck_assert_uint_eq(back.td_slot, 3);
	ck_assert_str_eq(back.td_name, "draft.json");
	ck_assert_str_eq(back.td_def, d.td_def);
	testmsg_def_clear(&back);
	ipc_buf_clear(&b);
	/* A slot no worker can have, an empty definition: refused. */
	d.td_slot = IPC_MAX_SLOTS;
	ck_assert_int_eq(testmsg_def_encode(&b, &d), 0);
	m = msg_of(&b, b.b_len);
	ck_assert_int_eq(testmsg_def_decode(&m, &back), -1);
	ipc_buf_clear(&b);
	d.td_slot = 0;
	d.td_deflen = 0;
	ck_assert_int_eq(testmsg_def_encode(&b, &d), 0);
	m = msg_of(&b, b.b_len);
	ck_assert_int_eq(testmsg_def_decode(&m, &back), -1);
	ipc_buf_clear(&b);

	ck_assert_int_eq(testmsg_def_done_encode(&b, 0, "no such tenant"), 0);
	m = msg_of(&b, b.b_len);
	ck_assert_int_eq(testmsg_def_done_decode(&m, &ok, &why), 0);
	ck_assert_int_eq(ok, 0);
	ck_assert_str_eq(why, "no such tenant");
	free(why);
	ipc_buf_clear(&b);
	ipc_buf_init(&b);
	ipc_put_u32(&b, 2);
	ipc_put_str(&b, "");
	m = msg_of(&b, b.b_len);
	ck_assert_int_eq(testmsg_def_done_decode(&m, &ok, &why), -1);
	ipc_buf_clear(&b);
}
END_TEST

START_TEST(res_round_trip)
{
	struct testmsg_header	 hs[1] = { { "Content-Type", "text/plain" } };
	struct testmsg_res	 r, back;
	struct ipc_buf		 b;
	struct ipc_msg		 m;
	char			 bin[4] = { 'a', '\0', 'b', '\xff' };

	memset(&r, 0, sizeof(r));
	r.tr_status = 502;
	r.tr_headers = hs;
	r.tr_nheaders = 1;
	r.tr_body = bin;
	r.tr_bodylen = sizeof(bin);
	r.tr_debug = "{\"url\":null}";
	ck_assert_int_eq(testmsg_res_encode(&b, &r), 0);
	m = msg_of(&b, b.b_len);
	ck_assert_int_eq(testmsg_res_decode(&m, &back), 0);
	ck_assert_uint_eq(back.tr_status, 502);
	ck_assert_uint_eq(back.tr_bodylen, 4);
	ck_assert_int_eq(memcmp(back.tr_body, bin, 4), 0);
	ck_assert_str_eq(back.tr_debug, "{\"url\":null}");
	testmsg_res_clear(&back);
	ipc_buf_clear(&b);
	r.tr_status = 99;
	ck_assert_int_eq(testmsg_res_encode(&b, &r), 0);
	m = msg_of(&b, b.b_len);
	ck_assert_int_eq(testmsg_res_decode(&m, &back), -1);
	ipc_buf_clear(&b);
	/* More headers than a message may carry: refused on both sides. */
	r.tr_status = 200;
	r.tr_nheaders = TESTMSG_MAX_HEADERS + 1;
	ck_assert_int_eq(testmsg_res_encode(&b, &r), -1);
	ipc_buf_clear(&b);
}
END_TEST

static int
parse(const char *text, struct json_object **o, int *status,
    const char **msg)
{
	return control_http_parse(text, strlen(text), 1000, o, status, msg);
}

START_TEST(http_parse)
{
	struct json_object	*o, *v;
	const char		*msg;
	char			 big[CONTROL_HTTP_HEAD_MAX + 100];
	int			 status;

	ck_assert_int_eq(parse("POST /widget-service/admin/connectors/test "
	    "HTTP/1.1\r\nHost: x\r\n", &o, &status, &msg), 0);
	ck_assert_int_eq(parse("POST /widget-service/admin/connectors/test "
	    "HTTP/1.1\r\nContent-Length: 20\r\n\r\n{\"permalink\"", &o,
	    &status, &msg), 0);
	ck_assert_int_eq(parse("POST /widget-service/admin/connectors/test?x "
	    "HTTP/1.1\r\nContent-Length: 37\r\n\r\n{\"permalink\": \"w\", "
	    "\"command\": \"stop\"}", &o, &status, &msg), 1);
	/* The command is test, whatever the body says. */
	ck_assert(json_object_object_get_ex(o, "command", &v));
	ck_assert_str_eq(json_object_get_string(v), "test");
	ck_assert(json_object_object_get_ex(o, "permalink", &v));
	ck_assert_str_eq(json_object_get_string(v), "w");
	json_object_put(o);

#define REFUSED(text, want) do {					\
	ck_assert_int_eq(parse(text, &o, &status, &msg), -1);		\
	ck_assert_int_eq(status, want);					\
	ck_assert_ptr_null(o);						\
} while (0)
	REFUSED("GET /widget-service/admin/connectors/test HTTP/1.1\r\n\r\n",
	    405);
	REFUSED("POST /widget-service/admin/other HTTP/1.1\r\n\r\n", 404);
	REFUSED("POST /widget-service/admin/connectors/testx HTTP/1.1\r\n\r\n",
	    404);
	REFUSED("POST /widget-service/admin/connectors/test HTTP/1.1\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", 411);
	REFUSED("POST /widget-service/admin/connectors/test HTTP/1.1\r\n"
	    "Content-Length: 1001\r\n\r\n", 413);
	REFUSED("POST /widget-service/admin/connectors/test HTTP/1.1\r\n"
	    "Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}", 400);
	REFUSED("POST /widget-service/admin/connectors/test HTTP/1.1\r\n"
	    "Content-Length: -1\r\n\r\n", 400);
	REFUSED("POST /widget-service/admin/connectors/test HTTP/1.1\r\n"
	    "X: a\r\n b\r\n\r\n", 400);
	REFUSED("POST /widget-service/admin/connectors/test HTTP/2.0\r\n\r\n",
	    400);
	REFUSED("POST  HTTP/1.1\r\n\r\n", 404);
	REFUSED("POST /widget-service/admin/connectors/test HTTP/1.1\r\n"
	    "Content-Length: 3\r\n\r\n[1]", 400);
	REFUSED("POST /widget-service/admin/connectors/test HTTP/1.1\r\n"
	    "Content-Length: 2\r\n\r\n{}x", 400);
	REFUSED("POST /widget-service/admin/connectors/test HTTP/1.1\r\n"
	    "Content-Length: 6\r\n\r\n{\"a\",}", 400);
	REFUSED("POST /widget-service/admin/connectors/test HTTP/1.1\r\n"
	    "Content-Length: 0\r\n\r\n", 400);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "POST / HTTP/1.1\r\nX: ", 20);
	REFUSED(big, 431);
#undef REFUSED
	ck_assert_int_eq(control_http_is("{\"command\"", 10), 0);
	ck_assert_int_eq(control_http_is("POST", 4), 1);
	ck_assert_int_eq(control_http_is("", 0), 0);
}
END_TEST

/*
 * The parser gets the connection's bytes as they came, with no NUL after
 * them: placed against an unmapped page, a search that read on to a NUL
 * (strstr: the sanitizers' check of it does) would fault.  Found by
 * fuzz_control_http under ASan.
 */
START_TEST(http_parse_unterminated)
{
	static const char	 req[] = "POST /widget-service/admin/connectors/"
	    "test HTTP/1.1\r\nContent-Length: 2\r\nX: y\r\n\r\n{}";
	struct json_object	*o = NULL;
	const char		*msg;
	long			 pg = sysconf(_SC_PAGESIZE);
	char			*m, *p;
	size_t			 len = sizeof(req) - 1, cut;
	int			 status;

	m = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE |
	    MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(m, MAP_FAILED);
	ck_assert_int_eq(mprotect(m + pg, pg, PROT_NONE), 0);
	/* Whole, then cut short at every byte: incomplete, never a fault. */
	for (cut = len; cut > 0; cut--) {
		p = m + pg - cut;
		memcpy(p, req, cut);
		ck_assert_int_eq(control_http_parse(p, cut, 1000, &o, &status,
		    &msg), cut == len ? 1 : 0);
		ck_assert(cut == len ? o != NULL : o == NULL);
		json_object_put(o);
		o = NULL;
	}
	ck_assert_int_eq(munmap(m, 2 * pg), 0);
}
END_TEST

static char *
reply_of(const char *json, size_t *len)
{
	struct json_object	*o = json_tokener_parse(json);
	char			*out;

	ck_assert_ptr_nonnull(o);
	out = control_http_reply(o, len);
	json_object_put(o);
	ck_assert_ptr_nonnull(out);
	return out;
}

START_TEST(http_reply)
{
	char	*out;
	size_t	 len;

	out = reply_of("{\"ok\":true,\"status\":201,\"headers\":[[\"X-A\","
	    "\"1\"],[\"X-Bad\",\"a\\r\\nInjected: 1\"],[\"Bad:Name\",\"x\"]],"
	    "\"body\":\"hello\",\"debug\":{\"url\":\"https://a.example/\"}}",
	    &len);
	ck_assert_msg(strncmp(out, "HTTP/1.1 201 Created\r\nX-A: 1\r\n"
	    "X-Debug-Request: {\"url\":\"https://a.example/\"}\r\n"
	    "Content-Length: 5\r\nConnection: close\r\n\r\nhello", len) == 0 &&
	    len == strlen(out), "%s", out);
	free(out);
	out = reply_of("{\"ok\":true,\"status\":200,\"headers\":[],"
	    "\"body_base64\":\"AP9h\",\"debug\":null}", &len);
	ck_assert_int_eq(memcmp(out + len - 3, "\0\377a", 3), 0);
	ck_assert_ptr_nonnull(strstr(out, "Content-Length: 3\r\n"));
	free(out);
	out = reply_of("{\"ok\":false,\"status\":422,\"error\":\"bad\"}", &len);
	ck_assert_msg(strncmp(out, "HTTP/1.1 422 ", 13) == 0, "%s", out);
	ck_assert_ptr_nonnull(strstr(out, "Content-Type: application/json"));
	ck_assert_ptr_nonnull(strstr(out, "\"error\":\"bad\""));
	free(out);
	out = reply_of("{\"ok\":false,\"error\":\"x\"}", &len);
	ck_assert_msg(strncmp(out, "HTTP/1.1 400 ", 13) == 0, "%s", out);
	free(out);
}
END_TEST

Suite *
check_suite(void)
{
	Suite	*s = suite_create("testmode");
	TCase	*tc = tcase_create("testmode");

	tcase_add_test(tc, req_round_trip);
	tcase_add_test(tc, def_and_done);
	tcase_add_test(tc, res_round_trip);
	tcase_add_test(tc, http_parse);
	tcase_add_test(tc, http_parse_unterminated);
	tcase_add_test(tc, http_reply);
	suite_add_tcase(s, tc);
	return s;
}
