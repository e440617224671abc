/*
 * widget-sdk.mjs — the Widget SDK as an ES module: exports
 * WidgetServiceSDK (also the default), ConnectorBoundaryError and
 * ConnectorExecuteError.  Built by make from contrib/sdk/src/; do not edit.
 */
const SCRIPT_URL = import.meta.url;
