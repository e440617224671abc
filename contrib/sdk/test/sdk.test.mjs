// The Widget SDK's pure parts under node --test (tests/sdk_node.sh):
// everything but the browser and the network, with fetch stubbed.
import { test, beforeEach } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import vm from "node:vm";

const mod = await import(process.env.SDK_MJS);
const { WidgetServiceSDK, ConnectorBoundaryError, ConnectorExecuteError } =
    mod;
const BASE = "http://w.test/widget-service";

// Every fetch the SDK makes, and what the stub answers.
let calls;
let answer;
beforeEach(() => {
	calls = [];
	answer = () => new Response('{"ok":true}', { status: 200,
	    headers: { "Content-Type": "application/json",
	    "X-Request-ID": "rid-1" } });
	globalThis.fetch = async (url, init) => {
		calls.push({ url, init });
		return answer(url, init);
	};
	delete globalThis.document;
});

function sdk(config) {
	return new WidgetServiceSDK(Object.assign({ baseUrl: BASE }, config));
}

function reply(status, body, headers) {
	answer = () => new Response(body, { status, headers: Object.assign(
	    { "X-Request-ID": "rid-2" }, headers || {}) });
}

test("the ES module exports the three classes, the class by default", () => {
	assert.equal(mod.default, WidgetServiceSDK);
	assert.equal(typeof ConnectorBoundaryError, "function");
	assert.ok(new ConnectorBoundaryError("EMPTY_KEY", "m") instanceof Error);
	assert.ok(new ConnectorExecuteError(400, {}) instanceof Error);
});

test("the UMD build sets window.WidgetServiceSDK with the error classes",
    () => {
	const ctx = { document: { currentScript: { src:
	    "https://w.example:8443/widget-service/sdk/widget-sdk.js" } },
	    URL, setTimeout, clearTimeout };
	ctx.window = ctx;
	vm.createContext(ctx);
	vm.runInContext(readFileSync(process.env.SDK_JS, "utf8"), ctx);
	const W = ctx.window.WidgetServiceSDK;
	assert.equal(typeof W, "function");
	assert.equal(typeof W.ConnectorBoundaryError, "function");
	assert.equal(typeof W.ConnectorExecuteError, "function");
	assert.equal(new W().getBaseUrl(),
	    "https://w.example:8443/widget-service");
});

test("the UMD build under CommonJS exports the same class", () => {
	const require = createRequire(import.meta.url);
	const W = require(process.env.SDK_JS);
	assert.equal(typeof W, "function");
	assert.equal(W.WidgetServiceSDK, W);
	// Loaded from no web page: the API is the page's own, relative.
	assert.equal(new W().getBaseUrl(), "/widget-service");
});

function umdBase(src) {
	const ctx = { document: { currentScript: { src } }, URL };
	ctx.window = ctx;
	vm.createContext(ctx);
	vm.runInContext(readFileSync(process.env.SDK_JS, "utf8"), ctx);
	return new ctx.window.WidgetServiceSDK().getBaseUrl();
}

test("the base URL is the SDK's origin plus its widgetd prefix", () => {
	assert.equal(umdBase("http://127.0.0.1:8080/widget-service/sdk/" +
	    "widget-sdk.js"), "http://127.0.0.1:8080/widget-service");
	// A proxy that mounts widgetd elsewhere keeps its prefix.
	assert.equal(umdBase("https://hub.example/api/wd/sdk/widget-sdk.js"),
	    "https://hub.example/api/wd");
	// A copy served from elsewhere: that origin's /widget-service.
	assert.equal(umdBase("https://cdn.example/js/sdk.js?v=3"),
	    "https://cdn.example/widget-service");
	assert.equal(umdBase(""), "/widget-service");
	// The ES module loaded from a file: no origin, so relative.
	assert.equal(new WidgetServiceSDK().getBaseUrl(), "/widget-service");
	assert.equal(new WidgetServiceSDK({ baseUrl: "https://x.example/ws/" })
	    .getBaseUrl(), "https://x.example/ws");
});

test("defaults: JSON headers, 30 s; configure and friends change them",
    () => {
	const s = new WidgetServiceSDK();
	assert.deepEqual(s.getHeaders(), { "Content-Type": "application/json",
	    Accept: "application/json" });
	assert.equal(s.getDefaultTimeout(), 30000);
	s.configure({ headers: { "X-A": "1", accept: "text/json" },
	    timeout: 5000 });
	assert.deepEqual(s.getHeaders(), { "Content-Type": "application/json",
	    accept: "text/json", "X-A": "1" });
	assert.equal(s.getDefaultTimeout(), 5000);
	assert.equal(s.updateHeaders({ "X-B": "2" }), s);
	assert.equal(s.getHeaders()["X-B"], "2");
	s.setDefaultTimeout(1234);
	assert.equal(s.getDefaultTimeout(), 1234);
	// The copy is the caller's to change.
	s.getHeaders()["X-C"] = "3";
	assert.equal(s.getHeaders()["X-C"], undefined);
	// The same through sdk.connectors (the current runtime's shape).
	s.connectors.configure({ timeout: 99 });
	assert.equal(s.connectors.getDefaultTimeout(), 99);
	s.connectors.updateHeaders({ "X-D": "4" });
	assert.equal(s.connectors.getHeaders()["X-D"], "4");
	s.connectors.setDefaultTimeout(77);
	assert.equal(s.getDefaultTimeout(), 77);
	assert.equal(s.connectors.getBaseUrl(), s.getBaseUrl());
	assert.throws(() => s.setDefaultTimeout(0), TypeError);
	assert.throws(() => s.configure({ timeout: "30s" }), TypeError);
	assert.throws(() => s.updateHeaders({ "X-A": 1 }), TypeError);
	assert.throws(() => new WidgetServiceSDK("x"), TypeError);
});

test("execute: URL, method, query, headers, credentials", async () => {
	const s = sdk({ headers: { "X-Tenant-Hint": "a" }, csrfToken: "tok" });
	const r = await s.connectors.execute({ permalink: "my-conn",
	    method: "get", queryParams: { q: "a b&c=d", units: "metric",
	    skip: undefined }, headers: { "X-Trace": "t1",
	    "x-tenant-hint": "b" } });
	assert.deepEqual(r, { ok: true });
	assert.equal(calls.length, 1);
	const { url, init } = calls[0];
	assert.equal(url, BASE + "/connectors/my-conn/execute?q=a%20b%26c%3Dd" +
	    "&units=metric");
	assert.equal(init.method, "GET");
	assert.equal(init.credentials, "include");
	assert.equal(init.body, undefined);
	assert.deepEqual(init.headers, { "Content-Type": "application/json",
	    Accept: "application/json", "X-CSRFToken": "tok", "X-Trace": "t1",
	    "x-tenant-hint": "b" });
});

test("payload is sent only for POST, PUT and PATCH", async () => {
	const s = sdk();
	for (const m of ["POST", "PUT", "PATCH", "GET", "DELETE", "HEAD",
	    "OPTIONS"]) {
		reply(200, "[1,2]");
		const r = await s.connectors.execute({ permalink: "p",
		    method: m, payload: { a: [1, "x", null] } }).catch(e => e);
		const sent = calls[calls.length - 1].init.body;
		if (["POST", "PUT", "PATCH"].includes(m)) {
			assert.equal(sent, '{"a":[1,"x",null]}', m);
			assert.deepEqual(r, [1, 2]);
		} else
			assert.equal(sent, undefined, m);
	}
	// Unknown options are ignored: "body" is not "payload".
	await s.connectors.execute({ permalink: "p", method: "POST",
	    body: { a: 1 } });
	assert.equal(calls[calls.length - 1].init.body, undefined);
});

test("#csrftoken is read from an input's value or an element's text",
    async () => {
	let el = { value: "  from-input " };
	globalThis.document = { getElementById: (id) =>
	    id === "csrftoken" ? el : null };
	await sdk().connectors.execute({ permalink: "p", method: "GET" });
	assert.equal(calls[0].init.headers["X-CSRFToken"], "from-input");
	el = { textContent: "from-text" };
	await sdk().connectors.execute({ permalink: "p", method: "GET" });
	assert.equal(calls[1].init.headers["X-CSRFToken"], "from-text");
	// Configured wins; none at all sends no header.
	await sdk({ csrfToken: "configured" }).connectors.execute({
	    permalink: "p", method: "GET" });
	assert.equal(calls[2].init.headers["X-CSRFToken"], "configured");
	el = null;
	await sdk().connectors.execute({ permalink: "p", method: "GET" });
	assert.equal("X-CSRFToken" in calls[3].init.headers, false);
});

test("pathParams become X-Path-Params, urlencoded", async () => {
	const s = sdk();
	await s.connectors.execute({ permalink: "p", method: "GET",
	    pathParams: { user_id: 42, slug: "hello-world", "a b": "c/d" } });
	assert.equal(calls[0].init.headers["X-Path-Params"],
	    "user_id=42&slug=hello-world&a%20b=c%2Fd");
	await s.connectors.execute({ permalink: "p", method: "GET",
	    pathParams: {} });
	assert.equal("X-Path-Params" in calls[1].init.headers, false);
});

test("bad pathParams throw ConnectorBoundaryError before any request",
    () => {
	const s = sdk();
	const cases = [
		[{ "": "x" }, "EMPTY_KEY"],
		[{ "  ": "x" }, "EMPTY_KEY"],
		[{ a: true }, "INVALID_VALUE"],
		[{ a: { b: 1 } }, "INVALID_VALUE"],
		[{ a: null }, "INVALID_VALUE"],
		[{ a: NaN }, "INVALID_VALUE"],
		[{ a: "x".repeat(4095) }, "TOO_LONG"],
		["a=b", "INVALID_PATH_PARAMS"],
	];
	for (const [pp, reason] of cases) {
		let thrown;
		try {
			// Synchronous: no promise to await.
			s.connectors.execute({ permalink: "p", method: "GET",
			    pathParams: pp });
		} catch (e) {
			thrown = e;
		}
		assert.ok(thrown instanceof ConnectorBoundaryError,
		    JSON.stringify(pp).slice(0, 40));
		assert.equal(thrown.name, "ConnectorBoundaryError");
		assert.equal(thrown.reason, reason);
	}
	// Exactly at the limit is fine.
	s.connectors.execute({ permalink: "p", method: "GET",
	    pathParams: { a: "x".repeat(4094) } });
	assert.equal(calls.length, 1);
	assert.equal(calls[0].init.headers["X-Path-Params"].length, 4096);
});

test("other bad arguments throw TypeError before any request", () => {
	const s = sdk();
	assert.throws(() => s.connectors.execute(), TypeError);
	assert.throws(() => s.connectors.execute({ method: "GET" }), TypeError);
	assert.throws(() => s.connectors.execute({ permalink: " ",
	    method: "GET" }), TypeError);
	assert.throws(() => s.connectors.execute({ permalink: "p",
	    method: "FETCH" }), TypeError);
	assert.throws(() => s.connectors.execute({ permalink: "p",
	    method: "GET", queryParams: "a=b" }), TypeError);
	assert.equal(calls.length, 0);
});

test("composite.execute: always POST, id or permalink, no pathParams",
    async () => {
	const s = sdk();
	await s.composite.execute({ permalink: "dash", payload: { a: 1 },
	    queryParams: { x: "1" } });
	assert.equal(calls[0].url, BASE +
	    "/composite-connectors/dash/execute?x=1");
	assert.equal(calls[0].init.method, "POST");
	assert.equal(calls[0].init.body, '{"a":1}');
	await s.composite.execute({ permalink: 12 });
	assert.equal(calls[1].url, BASE + "/composite-connectors/12/execute");
	assert.equal(calls[1].init.body, "{}");
	assert.throws(() => s.composite.execute({ permalink: "dash",
	    pathParams: { a: "1" } }), (e) => e instanceof
	    ConnectorBoundaryError && e.reason === "COMPOSITE_PATH_PARAMS");
	assert.throws(() => s.composite.execute({ permalink: "dash",
	    payload: '{"a":1}' }), TypeError);
	assert.throws(() => s.composite.execute({ permalink: -1 }), TypeError);
	assert.equal(calls.length, 2);
});

test("answers: JSON resolves; empty or non-JSON rejects with Error",
    async () => {
	const s = sdk();
	reply(201, '[{"id":1}]');
	assert.deepEqual(await s.connectors.execute({ permalink: "p",
	    method: "POST" }), [{ id: 1 }]);
	reply(200, "");
	let e = await s.connectors.execute({ permalink: "p", method: "GET" })
	    .catch(x => x);
	assert.equal(e.constructor, Error);
	assert.match(e.message, /empty/);
	assert.equal(e.requestId, "rid-2");
	reply(204, null);
	e = await s.connectors.execute({ permalink: "p", method: "GET" })
	    .catch(x => x);
	assert.equal(e.constructor, Error);
	reply(200, "<html>");
	e = await s.connectors.execute({ permalink: "p", method: "GET" })
	    .catch(x => x);
	assert.equal(e.constructor, Error);
	assert.match(e.message, /not JSON/);
});

test("an unknown permalink rejects with an Error whose status is 404",
    async () => {
	reply(404, '{"success":false,"errors":{"code":"CONNECTOR_NOT_FOUND",' +
	    '"detail":"no such connector","scope":"Request","params":[]},' +
	    '"request_id":"r"}');
	const e = await sdk().connectors.execute({ permalink: "nope",
	    method: "GET" }).catch(x => x);
	assert.equal(e.constructor, Error);
	assert.equal(e.status, 404);
	assert.equal(e.code, "CONNECTOR_NOT_FOUND");
});

test("the envelope becomes ConnectorExecuteError", async () => {
	reply(400, '{"success":false,"errors":{"code":' +
	    '"MISSING_PATH_PARAMETERS","detail":"required path parameters ' +
	    'are missing","scope":"Request","params":["city"]},' +
	    '"request_id":"env-rid"}');
	const e = await sdk().connectors.execute({ permalink: "p",
	    method: "GET" }).catch(x => x);
	assert.ok(e instanceof ConnectorExecuteError);
	assert.equal(e.name, "ConnectorExecuteError");
	assert.equal(e.status, 400);
	assert.equal(e.code, "MISSING_PATH_PARAMETERS");
	assert.deepEqual(e.params, ["city"]);
	assert.equal(e.scope, "Request");
	assert.match(e.detail, /missing/);
	assert.equal(e.requestId, "env-rid");
	assert.match(e.message, /^MISSING_PATH_PARAMETERS: /);
});

test("the legacy shape becomes ConnectorExecuteError", async () => {
	reply(502, '{"failure_scope":"Downstream (network/external service)",' +
	    '"reason":"Connection refused","request_id":"leg-rid"}');
	const e = await sdk().connectors.execute({ permalink: "p",
	    method: "GET" }).catch(x => x);
	assert.ok(e instanceof ConnectorExecuteError);
	assert.equal(e.failureScope, "Downstream (network/external service)");
	assert.equal(e.reason, "Connection refused");
	assert.equal(e.requestId, "leg-rid");
	assert.equal(e.status, 502);
	assert.equal(e.code, undefined);
});

test("an upstream's own error body is a ConnectorExecuteError too",
    async () => {
	reply(403, '{"message":"forbidden by upstream"}');
	let e = await sdk().connectors.execute({ permalink: "p",
	    method: "GET" }).catch(x => x);
	assert.ok(e instanceof ConnectorExecuteError);
	assert.equal(e.status, 403);
	assert.deepEqual(e.body, { message: "forbidden by upstream" });
	assert.equal(e.requestId, "rid-2");
	// An upstream 404 with a JSON body is the upstream's, not ours.
	reply(404, '{"message":"no such city"}');
	e = await sdk().connectors.execute({ permalink: "p", method: "GET" })
	    .catch(x => x);
	assert.ok(e instanceof ConnectorExecuteError);
	assert.equal(e.status, 404);
	reply(500, "Internal Server Error");
	e = await sdk().connectors.execute({ permalink: "p", method: "GET" })
	    .catch(x => x);
	assert.ok(e instanceof ConnectorExecuteError);
	assert.equal(e.reason, "Internal Server Error");
});

test("network errors reject with a plain Error", async () => {
	globalThis.fetch = async () => {
		throw new TypeError("Failed to fetch");
	};
	const e = await sdk().connectors.execute({ permalink: "p",
	    method: "GET" }).catch(x => x);
	assert.equal(e.constructor, Error);
	assert.match(e.message, /network error: Failed to fetch/);
	assert.equal(e.status, undefined);
});

test("a timeout aborts the request and rejects with a plain Error",
    async () => {
	let aborted = false;
	globalThis.fetch = (url, init) => new Promise((resolve, reject) => {
		init.signal.addEventListener("abort", () => {
			aborted = true;
			reject(new DOMException("aborted", "AbortError"));
		});
	});
	const s = sdk({ timeout: 50 });
	const t0 = Date.now();
	const e = await s.connectors.execute({ permalink: "p",
	    method: "GET" }).catch(x => x);
	assert.ok(Date.now() - t0 >= 45);
	assert.ok(aborted);
	assert.equal(e.constructor, Error);
	assert.equal(e.timeout, true);
	assert.match(e.message, /timed out after 50 ms/);
});
