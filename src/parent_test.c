/*
 * parent_test.c — test mode's relay in the parent (see parent_test.h).
 *
 * What the operator sends is checked here once, completely, and turned
 * into the request a browser would have made (query string, X-Path-Params,
 * headers, body); the worker then runs it as one.  A definition is the
 * operator's, read from the root-only control socket: the parent may
 * vouch for it to the keeper, which a worker never may.
 */
#include "build.h"

#include <sys/queue.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>
#include <json-c/json.h>
#include <openssl/evp.h>

#include "chan.h"
#include "config.h"
#include "connector.h"
#include "control.h"
#include "ipc.h"
#include "log.h"
#include "parent_test.h"
#include "snapshot.h"
#include "testmsg.h"
#include "token.h"

#define PTEST_MAX	16	/* tests running at once */
#define PTEST_MARGIN	10	/* s past two upstream windows (token, call) */

enum ptest_state {
	PT_DEF,			/* waiting for the keeper to load the definition */
	PT_RUN			/* waiting for the worker's answer */
};

struct ptest {
	TAILQ_ENTRY(ptest)	 pt_entry;
	struct ptests		*pt_all;
	uint32_t		 pt_id;
	enum ptest_state	 pt_state;
	struct control_req	*pt_req;
	struct chan		*pt_worker;
	struct chan		*pt_keeper;
	struct ipc_buf		 pt_msg;	/* MSG_TEST, sent once PT_RUN */
	struct event		*pt_timer;
};

struct ptests {
	struct event_base	*pts_base;
	TAILQ_HEAD(, ptest)	 pts_list;
	int			 pts_n;
	uint32_t		 pts_seq;
};

struct ptests *
ptests_new(struct event_base *base)
{
	struct ptests	*pts;

	if ((pts = calloc(1, sizeof(*pts))) == NULL)
		return NULL;
	pts->pts_base = base;
	TAILQ_INIT(&pts->pts_list);
	return pts;
}

/* {"ok":false,"status":status,"error":msg} */
static struct json_object *
ptest_error(int status, const char *msg)
{
	struct json_object	*o;

	if ((o = json_object_new_object()) == NULL)
		return NULL;
	json_object_object_add(o, "ok", json_object_new_boolean(0));
	json_object_object_add(o, "status", json_object_new_int(status));
	json_object_object_add(o, "error", json_object_new_string(msg));
	return o;
}

/* Answer the operator (reply taken) and forget the test. */
static void
ptest_done(struct ptest *pt, struct json_object *reply)
{
	struct ptests	*pts = pt->pt_all;

	TAILQ_REMOVE(&pts->pts_list, pt, pt_entry);
	pts->pts_n--;
	if (pt->pt_timer != NULL)
		event_free(pt->pt_timer);
	ipc_buf_clear(&pt->pt_msg);
	control_reply(pt->pt_req, reply);
	free(pt);
}

void
ptests_free(struct ptests *pts)
{
	struct ptest	*pt;

	if (pts == NULL)
		return;
	while ((pt = TAILQ_FIRST(&pts->pts_list)) != NULL)
		ptest_done(pt, ptest_error(503, "shutting down"));
	free(pts);
}

static void
ptest_timeout_cb(int fd, short what, void *arg)
{
	struct ptest	*pt = arg;

	log_warnx("control: test %u: no answer in time", pt->pt_id);
	ptest_done(pt, ptest_error(504, "the test did not finish in time"));
}

/* --- Checking the operator's request ------------------------------------ */

/* application/x-www-form-urlencoded as the SDK sends it (%20 for space). */
static void
ptest_encode(FILE *fp, const char *s)
{
	for (; *s != '\0'; s++)
		if (isalnum((unsigned char)*s) || strchr("-._~", *s) != NULL)
			fputc(*s, fp);
		else
			fprintf(fp, "%%%02X", (unsigned char)*s);
}

/*
 * A JSON object of strings (or numbers), or a list of [name, value]
 * pairs, as "k=v&k2=v2", encoded.  malloc'd; NULL with err set.
 */
static char *
ptest_form(struct json_object *o, const char *what, char *err, size_t errlen)
{
	struct json_object	*pair, *k, *v;
	char			*out = NULL;
	size_t			 i, len = 0, n = 0;
	int			 bad = 0;
	FILE			*fp;

	if ((fp = open_memstream(&out, &len)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (json_object_is_type(o, json_type_object)) {
		json_object_object_foreach(o, key, val) {
			if (!json_object_is_type(val, json_type_string) &&
			    !json_object_is_type(val, json_type_int)) {
				bad = 1;
				break;
			}
			fputs(n++ > 0 ? "&" : "", fp);
			ptest_encode(fp, key);
			fputc('=', fp);
			ptest_encode(fp, json_object_get_string(val));
		}
	} else if (json_object_is_type(o, json_type_array)) {
		for (i = 0; i < json_object_array_length(o); i++) {
			pair = json_object_array_get_idx(o, i);
			if (!json_object_is_type(pair, json_type_array) ||
			    json_object_array_length(pair) != 2 ||
			    !json_object_is_type(k = json_object_array_get_idx(
			    pair, 0), json_type_string) ||
			    !json_object_is_type(v = json_object_array_get_idx(
			    pair, 1), json_type_string)) {
				bad = 1;
				break;
			}
			fputs(n++ > 0 ? "&" : "", fp);
			ptest_encode(fp, json_object_get_string(k));
			fputc('=', fp);
			ptest_encode(fp, json_object_get_string(v));
		}
	} else
		bad = 1;
	if (fclose(fp) != 0 || bad) {
		snprintf(err, errlen, bad ? "%s: an object of strings (or a "
		    "list of [name, value] pairs) is expected" :
		    "out of memory", what);
		free(out);
		return NULL;
	}
	return out;
}

/* A header the operator gives: a token name, a value without controls. */
static int
ptest_header_ok(const char *name, const char *value)
{
	size_t	 i;

	if (name[0] == '\0' || strlen(name) > 256)
		return 0;
	if (!tok_is_token(name, strlen(name)))
		return 0;
	for (i = 0; value[i] != '\0'; i++)
		if (((unsigned char)value[i] < 0x20 && value[i] != '\t') ||
		    value[i] == 0x7f)
			return 0;
	return 1;
}

/* The tenant asked for, or the default one (or the only one). */
static const struct snap_tenant *
ptest_tenant(const struct snapshot *sn, struct json_object *request,
    char *err, size_t errlen)
{
	struct json_object	*t;
	size_t			 i;

	if (json_object_object_get_ex(request, "tenant", &t) &&
	    t != NULL) {
		if (!json_object_is_type(t, json_type_string) ||
		    snapshot_tenant_by_id(sn, json_object_get_string(t)) ==
		    NULL) {
			snprintf(err, errlen, "no such tenant");
			return NULL;
		}
		return snapshot_tenant_by_id(sn, json_object_get_string(t));
	}
	if (sn->sn_cfg->c_ntenants == 1)
		return &sn->sn_tenants[0];
	for (i = 0; i < sn->sn_cfg->c_ntenants; i++)
		if (sn->sn_cfg->c_tenants[i].t_nhosts == 0)
			return &sn->sn_tenants[i];
	snprintf(err, errlen, "no default tenant: name one (\"tenant\", "
	    "widgetctl test -t)");
	return NULL;
}

/* Every error of a definition, as widgetctl check prints them. */
static struct json_object *
ptest_def_errors(const struct reg_report *rep)
{
	struct json_object	*o, *list, *e;
	const struct reg_error	*re;
	char			*text = NULL;
	size_t			 i, len = 0;
	FILE			*fp;

	o = ptest_error(422, "the definition is not valid");
	list = json_object_new_array();
	for (i = 0; i < rep->rr_nerrors; i++) {
		re = &rep->rr_errors[i];
		e = json_object_new_object();
		json_object_object_add(e, "line",
		    json_object_new_int(re->re_line));
		json_object_object_add(e, "col", json_object_new_int(re->re_col));
		json_object_object_add(e, "path", json_object_new_string(
		    re->re_path != NULL ? re->re_path : ""));
		json_object_object_add(e, "message",
		    json_object_new_string(re->re_msg));
		json_object_object_add(e, "class",
		    json_object_new_string(re->re_class));
		json_object_array_add(list, e);
	}
	json_object_object_add(o, "errors_detail", list);
	/* The lines themselves, for widgetctl to print as check does. */
	list = json_object_new_array();
	if ((fp = open_memstream(&text, &len)) != NULL) {
		reg_report_print(rep, fp);
		fclose(fp);
	}
	for (i = 0; text != NULL && i < len;) {
		char	*nl = memchr(text + i, '\n', len - i);
		size_t	 n = nl != NULL ? (size_t)(nl - text - i) : len - i;

		json_object_array_add(list, json_object_new_string_len(
		    text + i, (int)n));
		i += n + 1;
	}
	free(text);
	json_object_object_add(o, "errors", list);
	return o;
}

/*
 * The request a browser would have made, as MSG_TEST, into pt->pt_msg;
 * a definition also into def.  NULL, or the error reply.
 */
static struct json_object *
ptest_build(struct ptest *pt, struct json_object *request,
    const struct snapshot *sn, int wslot, struct testmsg_def *def,
    struct ipc_buf *defmsg)
{
	const struct snap_tenant *st;
	struct testmsg_req	 q;
	struct testmsg_header	 hs[TESTMSG_MAX_HEADERS];
	struct reg_report	 rep;
	struct registry		*reg = NULL;
	struct json_object	*o, *reply = NULL;
	const char		*perm = "", *defname = "definition";
	char			 err[512], *pp = NULL, *query = NULL;
	uint32_t		 nh = 0;

	memset(&q, 0, sizeof(q));
	memset(&rep, 0, sizeof(rep));
	err[0] = '\0';
	if ((st = ptest_tenant(sn, request, err, sizeof(err))) == NULL)
		return ptest_error(404, err);
	q.tq_tenant = (uint32_t)st->st_index;
	q.tq_def = (char *)"";
	if (json_object_object_get_ex(request, "definition_name", &o) &&
	    json_object_is_type(o, json_type_string))
		defname = json_object_get_string(o);
	if (json_object_object_get_ex(request, "definition", &o)) {
		if (!json_object_is_type(o, json_type_string) ||
		    json_object_get_string_len(o) == 0 ||
		    json_object_get_string_len(o) > TESTMSG_MAX_DEF)
			return ptest_error(400, "definition: the Code Mode "
			    "JSON text is expected (at most 1 MiB)");
		q.tq_def = (char *)json_object_get_string(o);
		q.tq_deflen = (size_t)json_object_get_string_len(o);
		/* Validated first, by the loader the daemon uses. */
		reg = registry_load_codemode_buffer(defname, q.tq_def,
		    q.tq_deflen, &sn->sn_cfg->c_egress.policy, &rep);
		if (reg == NULL) {
			reply = ptest_def_errors(&rep);
			goto out;
		}
		if (registry_nconnectors(reg) != 1) {
			reply = ptest_error(422, "a Code Mode definition is one "
			    "simple connector");
			goto out;
		}
		if (json_object_object_get_ex(request, "permalink", &o)) {
			reply = ptest_error(400, "a permalink or a definition, "
			    "not both");
			goto out;
		}
	} else if (!json_object_object_get_ex(request, "permalink", &o) ||
	    !json_object_is_type(o, json_type_string) ||
	    !connector_slug_valid(json_object_get_string(o),
	    (size_t)json_object_get_string_len(o)))
		return ptest_error(400, "permalink: a connector's permalink "
		    "(or a definition) is expected");
	else
		perm = json_object_get_string(o);
	q.tq_permalink = (char *)perm;
	q.tq_defname = (char *)defname;

	if (json_object_object_get_ex(request, "query", &o) &&
	    (query = ptest_form(o, "query", err, sizeof(err))) == NULL) {
		reply = ptest_error(400, err);
		goto out;
	}
	q.tq_query = query != NULL ? query : (char *)"";
	if (json_object_object_get_ex(request, "path_params", &o)) {
		if ((pp = ptest_form(o, "path_params", err, sizeof(err))) ==
		    NULL) {
			reply = ptest_error(400, err);
			goto out;
		}
		if (pp[0] != '\0') {
			hs[nh].th_name = (char *)"X-Path-Params";
			hs[nh++].th_value = pp;
		}
	}
	if (json_object_object_get_ex(request, "headers", &o) && o != NULL) {
		if (!json_object_is_type(o, json_type_object)) {
			reply = ptest_error(400, "headers: an object of strings "
			    "is expected");
			goto out;
		}
		json_object_object_foreach(o, key, val) {
			if (!json_object_is_type(val, json_type_string) ||
			    !ptest_header_ok(key, json_object_get_string(val)) ||
			    nh == TESTMSG_MAX_HEADERS) {
				snprintf(err, sizeof(err), "headers: '%s' is not "
				    "a header that can be sent", key);
				reply = ptest_error(400, err);
				goto out;
			}
			hs[nh].th_name = key;
			hs[nh++].th_value = (char *)json_object_get_string(val);
		}
	}
	q.tq_headers = hs;
	q.tq_nheaders = nh;
	/* The payload, as the SDK sends it: JSON text. */
	if (json_object_object_get_ex(request, "payload", &o)) {
		q.tq_has_body = 1;
		q.tq_body = (char *)json_object_to_json_string_ext(o,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
		q.tq_bodylen = strlen(q.tq_body);
	} else
		q.tq_body = (char *)"";
	if (testmsg_req_encode(&pt->pt_msg, &q) == -1) {
		reply = ptest_error(413, "the test request is too large");
		goto out;
	}
	if (q.tq_deflen > 0) {
		def->td_slot = (uint32_t)wslot;
		def->td_tenant = q.tq_tenant;
		def->td_name = (char *)defname;
		def->td_def = q.tq_def;
		def->td_deflen = q.tq_deflen;
		if (testmsg_def_encode(defmsg, def) == -1)
			reply = ptest_error(413, "the definition is too large");
	}
out:
	registry_free(reg);
	reg_report_clear(&rep);
	free(pp);
	free(query);
	return reply;
}

void
ptest_start(struct ptests *pts, struct control_req *req,
    struct json_object *request, const struct snapshot *sn,
    struct chan *worker, int wslot, struct chan *keeper)
{
	struct ptest		*pt;
	struct testmsg_def	 def;
	struct ipc_buf		 defmsg;
	struct json_object	*reply;
	struct timeval		 tv = { 0, 0 };

	memset(&def, 0, sizeof(def));
	memset(&defmsg, 0, sizeof(defmsg));
	if (pts->pts_n >= PTEST_MAX) {
		control_reply(req, ptest_error(503, "too many tests running"));
		return;
	}
	if ((pt = calloc(1, sizeof(*pt))) == NULL) {
		control_reply(req, ptest_error(500, "out of memory"));
		return;
	}
	pt->pt_all = pts;
	pt->pt_req = req;
	pt->pt_worker = worker;
	pt->pt_keeper = keeper;
	if (++pts->pts_seq == 0)
		pts->pts_seq = 1;
	pt->pt_id = pts->pts_seq;
	TAILQ_INSERT_TAIL(&pts->pts_list, pt, pt_entry);
	pts->pts_n++;
	if ((reply = ptest_build(pt, request, sn, wslot, &def,
	    &defmsg)) != NULL) {
		ipc_buf_clear(&defmsg);
		ptest_done(pt, reply);
		return;
	}
	/* A token request and the call, each in its window, then a margin. */
	tv.tv_sec = 2 * sn->sn_cfg->c_egress.timeout + PTEST_MARGIN;
	if ((pt->pt_timer = evtimer_new(pts->pts_base, ptest_timeout_cb,
	    pt)) != NULL)
		evtimer_add(pt->pt_timer, &tv);
	if (defmsg.b_len > 0) {
		pt->pt_state = PT_DEF;
		if (chan_send(keeper, MSG_TEST_DEF, pt->pt_id, defmsg.b_data,
		    defmsg.b_len, -1) == -1)
			ptest_done(pt, ptest_error(503, "the keeper is not "
			    "available"));
		ipc_buf_clear(&defmsg);
		return;
	}
	pt->pt_state = PT_RUN;
	if (chan_send(worker, MSG_TEST, pt->pt_id, pt->pt_msg.b_data,
	    pt->pt_msg.b_len, -1) == -1)
		ptest_done(pt, ptest_error(503, "the worker is not available"));
}

/* --- Answers --------------------------------------------------------------- */

/* Text json-c can carry as a string: UTF-8 (its own check, round trip). */
static int
ptest_utf8(const char *s, size_t len)
{
	struct json_object	*o, *back = NULL;
	struct json_tokener	*tok;
	const char		*text;
	int			 ok;

	if ((o = json_object_new_string_len(s, (int)len)) == NULL)
		return 0;
	if ((tok = json_tokener_new()) != NULL) {
		json_tokener_set_flags(tok, JSON_TOKENER_VALIDATE_UTF8);
		if ((text = json_object_to_json_string_ext(o,
		    JSON_C_TO_STRING_PLAIN)) != NULL)
			back = json_tokener_parse_ex(tok, text,
			    (int)strlen(text));
		json_tokener_free(tok);
	}
	ok = back != NULL;
	json_object_put(o);
	json_object_put(back);
	return ok;
}

/* The answer as the operator gets it. */
static struct json_object *
ptest_answer(const struct testmsg_res *r)
{
	struct json_object	*o, *hs, *h, *dbg;
	const unsigned char	*p = (const unsigned char *)r->tr_body;
	char			*enc;
	uint32_t		 k;

	o = json_object_new_object();
	json_object_object_add(o, "ok", json_object_new_boolean(1));
	json_object_object_add(o, "status",
	    json_object_new_int((int)r->tr_status));
	hs = json_object_new_array();
	for (k = 0; k < r->tr_nheaders; k++) {
		h = json_object_new_array();
		json_object_array_add(h, json_object_new_string(
		    r->tr_headers[k].th_name));
		json_object_array_add(h, json_object_new_string(
		    r->tr_headers[k].th_value));
		json_object_array_add(hs, h);
	}
	json_object_object_add(o, "headers", hs);
	if (ptest_utf8(r->tr_body, r->tr_bodylen) || r->tr_bodylen == 0)
		json_object_object_add(o, "body", json_object_new_string_len(
		    r->tr_body, (int)r->tr_bodylen));
	else if ((enc = malloc((r->tr_bodylen + 2) / 3 * 4 + 1)) != NULL) {
		EVP_EncodeBlock((unsigned char *)enc, p, (int)r->tr_bodylen);
		json_object_object_add(o, "body_base64",
		    json_object_new_string(enc));
		free(enc);
	}
	dbg = r->tr_debug[0] != '\0' ? json_tokener_parse(r->tr_debug) : NULL;
	json_object_object_add(o, "debug", dbg);
	return o;
}

static struct ptest *
ptest_find(struct ptests *pts, uint32_t id)
{
	struct ptest	*pt;

	TAILQ_FOREACH(pt, &pts->pts_list, pt_entry)
		if (pt->pt_id == id)
			return pt;
	return NULL;
}

int
ptest_child_msg(struct ptests *pts, struct chan *ch, struct ipc_msg *m)
{
	struct ptest		*pt = ptest_find(pts, m->m_id);
	struct testmsg_res	 r;
	char			*why = NULL, buf[400];
	int			 ok;

	if (m->m_type == MSG_TEST_DEF_DONE) {
		if (testmsg_def_done_decode(m, &ok, &why) == -1)
			return -1;
		if (pt != NULL && pt->pt_keeper == ch && pt->pt_state == PT_DEF) {
			if (!ok) {
				snprintf(buf, sizeof(buf), "the keeper refused "
				    "the definition: %s", why);
				ptest_done(pt, ptest_error(503, buf));
			} else {
				pt->pt_state = PT_RUN;
				if (chan_send(pt->pt_worker, MSG_TEST,
				    pt->pt_id, pt->pt_msg.b_data,
				    pt->pt_msg.b_len, -1) == -1)
					ptest_done(pt, ptest_error(503, "the "
					    "worker is not available"));
			}
		}
		free(why);
		return 0;
	}
	if (testmsg_res_decode(m, &r) == -1)
		return -1;
	if (pt != NULL && pt->pt_worker == ch && pt->pt_state == PT_RUN)
		ptest_done(pt, ptest_answer(&r));
	testmsg_res_clear(&r);
	return 0;
}

void
ptest_chan_gone(struct ptests *pts, struct chan *ch)
{
	struct ptest	*pt, *next;

	for (pt = TAILQ_FIRST(&pts->pts_list); pt != NULL; pt = next) {
		next = TAILQ_NEXT(pt, pt_entry);
		if (pt->pt_worker == ch || pt->pt_keeper == ch)
			ptest_done(pt, ptest_error(503, pt->pt_worker == ch ?
			    "the worker went away" : "the keeper went away"));
	}
}
