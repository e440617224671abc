/*
 * widget-sdk.js — the Widget SDK, UMD build: a <script> sets
 * window.WidgetServiceSDK (with .ConnectorBoundaryError and
 * .ConnectorExecuteError); CommonJS gets the same object.  Built by make
 * from contrib/sdk/src/; do not edit.
 */
(function (root, factory) {
	"use strict";
	/* Read while this script runs: currentScript is null afterwards. */
	var src = typeof document !== "undefined" && document.currentScript &&
	    document.currentScript.src ? document.currentScript.src : "";
	var sdk = factory(src);
	if (typeof module === "object" && module && module.exports)
		module.exports = sdk;
	else
		root.WidgetServiceSDK = sdk;
})(typeof globalThis !== "undefined" ? globalThis : this, function (SCRIPT_URL) {
"use strict";
