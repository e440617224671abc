// contrib/bench/render-js.js — the JavaScript engines of contrib/bench/render.
//
//	node render-js.js ENGINE (-p | -S) [-v name=value]... [-T epoch]
//	    TEMPLATE CONTEXT.json
//
// ENGINE is minijinja (the minijinja-js package: Rust compiled to WASM) or
// nunjucks.  The driver installs both with npm into a directory it names in
// NODE_PATH.  -p prints one render's output; -S answers each "MSEC" line on
// stdin with one "usec_per_render=U renders=N" line, measured in CPU time
// (process.cpuUsage), exactly as render-bench -S does for widgetd.
//
// The connector extras (from_json, json_encode, base64_*, get_variable,
// now) and whatever an engine lacks that the benchmark templates use
// (minijinja-js: urlencode; nunjucks: tojson, namespace) are supplied here
// in JavaScript, the way a connector author would have to.
"use strict";

const fs = require("fs");
const readline = require("readline");

function usage() {
	process.stderr.write("usage: render-js.js minijinja|nunjucks -p|-S " +
	    "[-v name=value]... [-T epoch] TEMPLATE CONTEXT.json\n");
	process.exit(2);
}

// Python's json.dumps with its defaults: ", ", ": ", ensure_ascii.
function pyDumps(v) {
	if (v === null || v === undefined)
		return "null";
	if (typeof v === "boolean")
		return v ? "true" : "false";
	if (typeof v === "number")
		return Number.isInteger(v) ? String(v) : String(v);
	if (typeof v === "string")
		return JSON.stringify(v).replace(/[\u007f-\uffff]/g,
		    (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"));
	if (Array.isArray(v))
		return "[" + v.map(pyDumps).join(", ") + "]";
	return "{" + Object.keys(v).map((k) => pyDumps(k) + ": " +
	    pyDumps(v[k])).join(", ") + "}";
}

// Jinja2's tojson: sorted keys, compact-ish separators, HTML-safe.
function htmlSafeJson(v) {
	const sorted = (x) => {
		if (Array.isArray(x))
			return x.map(sorted);
		if (x !== null && typeof x === "object") {
			const o = {};
			for (const k of Object.keys(x).sort())
				o[k] = sorted(x[k]);
			return o;
		}
		return x;
	};
	return pyDumps(sorted(v)).replace(/[<>&']/g, (c) => "\\u00" +
	    c.charCodeAt(0).toString(16));
}

// Jinja2's urlencode of a string: quote() keeping "/".
function urlencode(s) {
	return encodeURIComponent(String(s)).replace(/%2F/g, "/")
	    .replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16)
	    .toUpperCase()).replace(/~/g, "%7E");
}

function main(argv) {
	const engine = argv[0];
	let mode = null, now = 1700000000;
	const vars = {}, files = [];

	// options may follow the operands (the driver appends -p or -S)
	for (let i = 1; i < argv.length; i++) {
		if (argv[i] === "-p" || argv[i] === "-S")
			mode = argv[i];
		else if (argv[i] === "-v" && i + 1 < argv.length) {
			const kv = argv[++i], eq = kv.indexOf("=");
			vars[kv.slice(0, eq)] = kv.slice(eq + 1);
		} else if (argv[i] === "-T" && i + 1 < argv.length)
			now = Number(argv[++i]);
		else if (argv[i].startsWith("-"))
			usage();
		else
			files.push(argv[i]);
	}
	if (mode === null || files.length !== 2)
		usage();
	const src = fs.readFileSync(files[0], "utf8").replace(/\n$/, "");
	const ctx = JSON.parse(fs.readFileSync(files[1], "utf8"));
	// both engines register extras with the same two calls
	const extras = (env) => {
		env.addFilter("from_json", (s) => JSON.parse(s));
		env.addFilter("json_encode", pyDumps);
		env.addFilter("base64_encode", (s) =>
		    Buffer.from(String(s)).toString("base64"));
		env.addGlobal("get_variable", (name) => vars[name]);
		env.addGlobal("now", (off) => now + (off || 0));
	};
	let render;

	if (engine === "minijinja") {
		const { Environment } = require("minijinja-js");
		const env = new Environment();
		env.enablePyCompat();
		extras(env);
		env.addFilter("urlencode", urlencode);
		env.addTemplate("t", src);
		render = () => env.renderTemplate("t", ctx);
	} else if (engine === "nunjucks") {
		const nunjucks = require("nunjucks");
		const env = new nunjucks.Environment(null, { autoescape: false });
		extras(env);
		env.addFilter("tojson", htmlSafeJson);
		env.addGlobal("namespace", (kw) => Object.assign({}, kw));
		const t = nunjucks.compile(src, env);
		render = () => t.render(ctx);
	} else
		usage();

	if (mode === "-p") {
		process.stdout.write(render());
		return;
	}
	render();
	const cpu = () => {
		const u = process.cpuUsage();
		return u.user + u.system;
	};
	const rl = readline.createInterface({ input: process.stdin });
	rl.on("line", (line) => {
		const msec = Number(line);
		let n = 1, t0, t1;

		for (;;) {
			t0 = cpu();
			for (let k = 0; k < n; k++)
				render();
			t1 = cpu() - t0;
			if (t1 >= msec * 1000 / 8 || n > 1e9)
				break;
			n *= 2;
		}
		if (t1 < msec * 1000) {
			n = Math.floor(n * (msec * 1000 - t1) / Math.max(t1, 1)) + 1;
			t0 = cpu();
			for (let k = 0; k < n; k++)
				render();
			t1 = cpu() - t0;
		}
		process.stdout.write("usec_per_render=" + (t1 / n).toFixed(4) +
		    " renders=" + n + "\n");
	});
}

try {
	main(process.argv.slice(2));
} catch (e) {
	process.stderr.write(String(e && e.message ? e.message : e)
	    .replace(/\s+/g, " ").trim() + "\n");
	process.exit(1);
}
