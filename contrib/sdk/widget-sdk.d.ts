/*
 * widget-sdk.d.ts — TypeScript declarations of the Widget SDK that widgetd
 * serves at /widget-service/sdk/ (widget-sdk.js, widget-sdk.mjs).
 */

export type HttpMethod =
	| "GET"
	| "POST"
	| "PUT"
	| "PATCH"
	| "DELETE"
	| "HEAD"
	| "OPTIONS";

export type JsonValue =
	| string
	| number
	| boolean
	| null
	| JsonValue[]
	| { [key: string]: JsonValue };

export interface ExecutePayload {
	[key: string]: JsonValue;
}

/* The parsed JSON body of the connector's answer: an object or an array. */
export type ExecuteResponse = { [key: string]: JsonValue } | JsonValue[];

export interface SDKConfig {
	/* Sent as X-CSRFToken; default: the value of the element #csrftoken. */
	csrfToken?: string;
	/* Sent with every request, merged over Content-Type and Accept. */
	headers?: Record<string, string>;
	/* Client-side timeout in milliseconds; default 30000. */
	timeout?: number;
	/* Default: the origin the SDK was loaded from + "/widget-service". */
	baseUrl?: string;
}

export interface ExecuteConnectorOptions {
	permalink: string;
	method: HttpMethod;
	/* JSON body, sent only for POST, PUT and PATCH. */
	payload?: ExecutePayload;
	/* Appended to the URL, encoded with encodeURIComponent. */
	queryParams?: Record<string, string>;
	/* Sent as X-Path-Params; keys non-empty, at most 4096 characters. */
	pathParams?: Record<string, string | number>;
	/* Extra headers for this call (an overridable header overrides). */
	headers?: Record<string, string>;
}

export interface ExecuteCompositeOptions {
	/* The composite's permalink or its numeric id. */
	permalink: string | number;
	payload?: ExecutePayload;
	queryParams?: Record<string, string>;
	/* Not allowed: throws ConnectorBoundaryError. */
	pathParams?: never;
}

export type BoundaryReason =
	| "INVALID_PATH_PARAMS"
	| "EMPTY_KEY"
	| "INVALID_VALUE"
	| "TOO_LONG"
	| "COMPOSITE_PATH_PARAMS";

/* Thrown synchronously, before any HTTP request. */
export class ConnectorBoundaryError extends Error {
	readonly name: "ConnectorBoundaryError";
	readonly reason: BoundaryReason;
	readonly key?: string;
	constructor(reason: BoundaryReason, message: string, key?: string);
}

/* widgetd's error envelope, the legacy shape, or an upstream error. */
export class ConnectorExecuteError extends Error {
	readonly name: "ConnectorExecuteError";
	readonly status: number;
	readonly body: unknown;
	readonly code?: string;
	readonly detail?: string;
	readonly scope?: string;
	readonly params: string[];
	readonly failureScope?: string;
	readonly reason?: string;
	readonly requestId?: string;
	constructor(status: number, body: unknown, requestId?: string);
}

/* Network errors, timeouts and an unknown permalink (status 404). */
export interface WidgetServiceHttpError extends Error {
	status?: number;
	requestId?: string;
	timeout?: boolean;
}

export interface ConnectorsClient {
	execute<T = ExecuteResponse>(options: ExecuteConnectorOptions):
	    Promise<T>;
	configure(partial: SDKConfig): WidgetServiceSDK;
	updateHeaders(headers: Record<string, string>): WidgetServiceSDK;
	setDefaultTimeout(ms: number): WidgetServiceSDK;
	getHeaders(): Record<string, string>;
	getDefaultTimeout(): number;
	getBaseUrl(): string;
}

export interface CompositeClient {
	execute<T = ExecuteResponse>(options: ExecuteCompositeOptions):
	    Promise<T>;
}

export class WidgetServiceSDK {
	constructor(config?: SDKConfig);
	readonly connectors: ConnectorsClient;
	readonly composite: CompositeClient;
	configure(partial: SDKConfig): this;
	updateHeaders(headers: Record<string, string>): this;
	setDefaultTimeout(ms: number): this;
	getHeaders(): Record<string, string>;
	getDefaultTimeout(): number;
	getBaseUrl(): string;
	static readonly WidgetServiceSDK: typeof WidgetServiceSDK;
	static readonly ConnectorBoundaryError: typeof ConnectorBoundaryError;
	static readonly ConnectorExecuteError: typeof ConnectorExecuteError;
}

export default WidgetServiceSDK;

declare global {
	interface Window {
		/* Set by widget-sdk.js loaded with a <script> tag. */
		WidgetServiceSDK: typeof WidgetServiceSDK;
	}
}
