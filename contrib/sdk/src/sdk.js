/*
 * The Widget SDK: what widget code uses to call widgetd's connectors
 * (widgetd(8), "THE WIDGET SDK").  Plain modern JavaScript, no runtime
 * dependency.  This file is the body shared by the two builds: make wraps
 * it into widget-sdk.js (UMD, window.WidgetServiceSDK) and widget-sdk.mjs
 * (an ES module).  The wrapper defines SCRIPT_URL, the URL the SDK itself
 * was loaded from, which gives the default base URL.
 */

const HTTP_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD",
	"OPTIONS"];
const BODY_METHODS = ["POST", "PUT", "PATCH"];
const DEFAULT_TIMEOUT = 30000;
const PATH_PARAMS_MAX = 4096;	/* characters of X-Path-Params */
const API_PATH = "/widget-service";

/* Thrown before any HTTP request for arguments widgetd would refuse. */
class ConnectorBoundaryError extends Error {
	constructor(reason, message, key) {
		super(message);
		this.name = "ConnectorBoundaryError";
		this.reason = reason;
		if (key !== undefined)
			this.key = key;
	}
}

/*
 * widgetd (or the upstream, through the connector) answered with an error.
 * Two server shapes are normalised: the envelope
 * {success:false, errors:{code, detail, scope, params}, request_id} and the
 * legacy {failure_scope, reason, request_id}.
 */
class ConnectorExecuteError extends Error {
	constructor(status, body, requestId) {
		const env = isObject(body) && isObject(body.errors) ?
		    body.errors : null;
		const legacy = !env && isObject(body) &&
		    ("failure_scope" in body || "reason" in body);
		let message;
		if (env)
			message = [env.code, env.detail].filter(Boolean)
			    .join(": ") || "connector error";
		else if (legacy)
			message = String(body.reason || body.failure_scope);
		else
			message = "connector answered HTTP " + status;
		super(message);
		this.name = "ConnectorExecuteError";
		this.status = status;
		this.body = body;
		this.code = env && typeof env.code === "string" ? env.code :
		    undefined;
		this.detail = env && typeof env.detail === "string" ?
		    env.detail : undefined;
		this.scope = env && typeof env.scope === "string" ?
		    env.scope : undefined;
		this.params = env && Array.isArray(env.params) ? env.params : [];
		this.failureScope = legacy ? body.failure_scope : undefined;
		this.reason = legacy ? body.reason : undefined;
		this.requestId = (isObject(body) &&
		    typeof body.request_id === "string" && body.request_id) ||
		    requestId || undefined;
	}
}

function isObject(v) {
	return v !== null && typeof v === "object" && !Array.isArray(v);
}

function isPlainObject(v) {
	if (!isObject(v))
		return false;
	const proto = Object.getPrototypeOf(v);
	return proto === Object.prototype || proto === null;
}

/* A plain Error that says what went wrong and carries the HTTP status. */
function httpError(message, status, extra) {
	const e = new Error(message);
	if (status !== undefined)
		e.status = status;
	return Object.assign(e, extra || {});
}

/*
 * Where the SDK was loaded from gives the API's base: the prefix before
 * "/sdk/<file>" when it is widgetd's own path (a proxy may mount widgetd
 * under another prefix), else the origin plus /widget-service.  Loaded
 * from nowhere we know: the page's own origin, relative.
 */
function baseFromScript(src) {
	let u;
	try {
		u = new URL(src);
	} catch (e) {
		return API_PATH;
	}
	if (u.protocol !== "http:" && u.protocol !== "https:")
		return API_PATH;
	const m = /^(.*)\/sdk\/widget-sdk\.(?:js|mjs)$/.exec(u.pathname);
	return u.origin + (m ? m[1] : API_PATH);
}

/* The CSRF token a Django-style page renders into #csrftoken. */
function detectCsrfToken() {
	if (typeof document === "undefined" || !document.getElementById)
		return undefined;
	const el = document.getElementById("csrftoken");
	if (!el)
		return undefined;
	const v = typeof el.value === "string" ? el.value : el.textContent;
	return v && v.trim() ? v.trim() : undefined;
}

function checkHeaders(h, what) {
	if (h === undefined)
		return {};
	if (!isObject(h))
		throw new TypeError(what + " must be an object of strings");
	const out = {};
	for (const [k, v] of Object.entries(h)) {
		if (typeof v !== "string")
			throw new TypeError(what + ": the value of " + k +
			    " must be a string");
		out[k] = v;
	}
	return out;
}

function checkTimeout(ms) {
	if (typeof ms !== "number" || !Number.isFinite(ms) || ms <= 0)
		throw new TypeError("timeout must be a positive number of " +
		    "milliseconds");
	return ms;
}

/* Header names compare without case: a later one replaces an earlier. */
function mergeHeaders(...sets) {
	const out = {};
	for (const set of sets) {
		for (const [k, v] of Object.entries(set || {})) {
			for (const old of Object.keys(out))
				if (old.toLowerCase() === k.toLowerCase())
					delete out[old];
			out[k] = v;
		}
	}
	return out;
}

/*
 * pathParams as the X-Path-Params header (urlencoded like a query), or
 * undefined when there are none.  Throws ConnectorBoundaryError for what
 * the server would refuse anyway, before anything is sent.
 */
function serializePathParams(pathParams) {
	if (pathParams === undefined || pathParams === null)
		return undefined;
	if (!isObject(pathParams))
		throw new ConnectorBoundaryError("INVALID_PATH_PARAMS",
		    "pathParams must be an object");
	const parts = [];
	for (const [key, value] of Object.entries(pathParams)) {
		if (key.trim() === "")
			throw new ConnectorBoundaryError("EMPTY_KEY",
			    "a pathParams key is empty", key);
		if (typeof value !== "string" && !(typeof value === "number" &&
		    Number.isFinite(value)))
			throw new ConnectorBoundaryError("INVALID_VALUE",
			    "pathParams." + key + " must be a string or a " +
			    "number", key);
		parts.push(encodeURIComponent(key) + "=" +
		    encodeURIComponent(String(value)));
	}
	const header = parts.join("&");
	if (header.length > PATH_PARAMS_MAX)
		throw new ConnectorBoundaryError("TOO_LONG", "pathParams " +
		    "serialise to " + header.length + " characters; at most " +
		    PATH_PARAMS_MAX);
	return header === "" ? undefined : header;
}

/* "?k=v&…" from queryParams (encodeURIComponent), "" for none. */
function queryString(queryParams) {
	if (queryParams === undefined || queryParams === null)
		return "";
	if (!isObject(queryParams))
		throw new TypeError("queryParams must be an object");
	const parts = [];
	for (const [k, v] of Object.entries(queryParams)) {
		if (v === undefined)
			continue;
		parts.push(encodeURIComponent(k) + "=" +
		    encodeURIComponent(String(v)));
	}
	return parts.length ? "?" + parts.join("&") : "";
}

function checkPermalink(p, numeric) {
	if (numeric && typeof p === "number" && Number.isInteger(p) && p >= 0)
		return String(p);
	if (typeof p !== "string" || p.trim() === "")
		throw new TypeError("permalink must be a non-empty string");
	return p;
}

/* The parsed body of an answer, or a rejection saying why not. */
async function readAnswer(res) {
	const requestId = (res.headers && res.headers.get("X-Request-ID")) ||
	    undefined;
	const text = await res.text();
	let body, parsed = false;
	if (text !== "") {
		try {
			body = JSON.parse(text);
			parsed = true;
		} catch (e) {
			parsed = false;
		}
	}
	if (res.status === 404 && (!parsed || (isObject(body) &&
	    isObject(body.errors) && (body.errors.code ===
	    "CONNECTOR_NOT_FOUND" || body.errors.code === "NOT_FOUND"))))
		throw httpError("connector not found (HTTP 404)", 404,
		    { requestId, code: parsed ? body.errors.code : undefined });
	if (!res.ok) {
		if (parsed)
			throw new ConnectorExecuteError(res.status, body,
			    requestId);
		throw new ConnectorExecuteError(res.status, { reason: text ||
		    "HTTP " + res.status, request_id: requestId }, requestId);
	}
	if (text === "")
		throw httpError("the connector's answer is empty, not JSON",
		    res.status, { requestId });
	if (!parsed)
		throw httpError("the connector's answer is not JSON",
		    res.status, { requestId, text });
	return body;
}

class WidgetServiceSDK {
	constructor(config) {
		const c = config === undefined ? {} : config;
		if (!isObject(c))
			throw new TypeError("the SDK's configuration must be " +
			    "an object");
		this._baseUrl = baseFromScript(SCRIPT_URL);
		this._headers = { "Content-Type": "application/json",
		    Accept: "application/json" };
		this._timeout = DEFAULT_TIMEOUT;
		this._csrfToken = undefined;
		this.configure(c);
		const self = this;
		/* The current generation's shape: one object per kind. */
		this.connectors = {
			execute: (options) => self._executeConnector(options),
			configure: (partial) => self.configure(partial),
			updateHeaders: (h) => self.updateHeaders(h),
			setDefaultTimeout: (ms) => self.setDefaultTimeout(ms),
			getHeaders: () => self.getHeaders(),
			getDefaultTimeout: () => self.getDefaultTimeout(),
			getBaseUrl: () => self.getBaseUrl()
		};
		this.composite = {
			execute: (options) => self._executeComposite(options)
		};
	}

	/* Merge a partial configuration (headers merge, others replace). */
	configure(partial) {
		const p = partial === undefined ? {} : partial;
		if (!isObject(p))
			throw new TypeError("configure() takes an object");
		if (p.baseUrl !== undefined) {
			if (typeof p.baseUrl !== "string" || p.baseUrl === "")
				throw new TypeError("baseUrl must be a " +
				    "non-empty string");
			this._baseUrl = p.baseUrl.replace(/\/+$/, "");
		}
		if (p.headers !== undefined)
			this._headers = mergeHeaders(this._headers,
			    checkHeaders(p.headers, "headers"));
		if (p.timeout !== undefined)
			this._timeout = checkTimeout(p.timeout);
		if (p.csrfToken !== undefined) {
			if (p.csrfToken !== null &&
			    typeof p.csrfToken !== "string")
				throw new TypeError("csrfToken must be a " +
				    "string");
			this._csrfToken = p.csrfToken === null ? undefined :
			    p.csrfToken;
		}
		return this;
	}

	updateHeaders(headers) {
		this._headers = mergeHeaders(this._headers,
		    checkHeaders(headers, "headers"));
		return this;
	}

	setDefaultTimeout(ms) {
		this._timeout = checkTimeout(ms);
		return this;
	}

	getHeaders() {
		return Object.assign({}, this._headers);
	}

	getDefaultTimeout() {
		return this._timeout;
	}

	getBaseUrl() {
		return this._baseUrl;
	}

	/*
	 * Not async: argument errors (ConnectorBoundaryError above all) are
	 * thrown at the call, before any request; the rest is a promise.
	 * Unknown options are ignored, as by the hosted SDK.
	 */
	_executeConnector(options) {
		if (!isObject(options))
			throw new TypeError("execute() takes an options object");
		const permalink = checkPermalink(options.permalink, false);
		if (typeof options.method !== "string" ||
		    !HTTP_METHODS.includes(options.method.toUpperCase()))
			throw new TypeError("method must be one of " +
			    HTTP_METHODS.join(", "));
		const method = options.method.toUpperCase();
		const pathHeader = serializePathParams(options.pathParams);
		const url = this._baseUrl + "/connectors/" +
		    encodeURIComponent(permalink) + "/execute" +
		    queryString(options.queryParams);
		const headers = checkHeaders(options.headers, "headers");
		if (pathHeader !== undefined)
			headers["X-Path-Params"] = pathHeader;
		const body = BODY_METHODS.includes(method) &&
		    options.payload !== undefined ?
		    JSON.stringify(options.payload) : undefined;
		return this._send(method, url, headers, body);
	}

	_executeComposite(options) {
		if (!isObject(options))
			throw new TypeError("execute() takes an options object");
		if (options.pathParams !== undefined)
			throw new ConnectorBoundaryError("COMPOSITE_PATH_PARAMS",
			    "composite connectors take no pathParams");
		const permalink = checkPermalink(options.permalink, true);
		if (options.payload !== undefined &&
		    !isPlainObject(options.payload))
			throw new TypeError("payload must be a plain object " +
			    "(the SDK serialises it)");
		const url = this._baseUrl + "/composite-connectors/" +
		    encodeURIComponent(permalink) + "/execute" +
		    queryString(options.queryParams);
		const body = JSON.stringify(options.payload === undefined ?
		    {} : options.payload);
		return this._send("POST", url, {}, body);
	}

	async _send(method, url, callHeaders, body) {
		const token = this._csrfToken !== undefined ? this._csrfToken :
		    detectCsrfToken();
		const headers = mergeHeaders(this._headers, token ?
		    { "X-CSRFToken": token } : {}, callHeaders);
		const timeout = this._timeout;
		const ctl = typeof AbortController === "function" ?
		    new AbortController() : undefined;
		let timedOut = false;
		const timer = setTimeout(() => {
			timedOut = true;
			if (ctl)
				ctl.abort();
		}, timeout);
		let res;
		try {
			res = await fetch(url, { method, headers, body,
			    credentials: "include", mode: "cors",
			    signal: ctl ? ctl.signal : undefined });
			return await readAnswer(res);
		} catch (e) {
			if (timedOut)
				throw httpError("the request timed out after " +
				    timeout + " ms", undefined,
				    { timeout: true });
			if (res === undefined)
				throw httpError("network error: " +
				    (e && e.message ? e.message : String(e)),
				    undefined, { cause: e });
			throw e;
		} finally {
			clearTimeout(timer);
		}
	}
}
