// Every member of widget-sdk.d.ts used as documented: must type-check.
import WidgetServiceSDK, {
	ConnectorBoundaryError, ConnectorExecuteError, ExecuteResponse,
	SDKConfig, HttpMethod
} from "./widget-sdk";

const config: SDKConfig = { csrfToken: "t", headers: { "X-A": "1" },
    timeout: 5000, baseUrl: "https://w.example/widget-service" };
const sdk = new WidgetServiceSDK(config);
const m: HttpMethod = "PATCH";
sdk.configure({ timeout: 1000 }).updateHeaders({ "X-B": "2" });
sdk.setDefaultTimeout(2000);
const h: Record<string, string> = sdk.getHeaders();
const t: number = sdk.getDefaultTimeout() + sdk.connectors.getDefaultTimeout();
const b: string = sdk.getBaseUrl() + sdk.connectors.getBaseUrl();
sdk.connectors.configure({ csrfToken: "x" });

async function run(): Promise<void> {
	const r: ExecuteResponse = await sdk.connectors.execute({
		permalink: "weather", method: m, payload: { a: [1, "x", null] },
		queryParams: { units: "metric" }, pathParams: { city: "oslo", n: 2 },
		headers: { "X-Trace": "1" } });
	const typed = await sdk.connectors.execute<{ temp: number }>({
		permalink: "w", method: "GET" });
	const n: number = typed.temp;
	await sdk.composite.execute({ permalink: 7, payload: { q: "x" },
		queryParams: { a: "b" } });
	try {
		await sdk.connectors.execute({ permalink: "x", method: "GET" });
	} catch (e) {
		if (e instanceof ConnectorExecuteError) {
			const s: number = e.status;
			const p: string[] = e.params;
			const parts = [e.code, e.detail, e.scope, e.failureScope,
			    e.reason, e.requestId];
			void s; void p; void parts;
		} else if (e instanceof ConnectorBoundaryError) {
			const reason: string = e.reason;
			void reason;
		}
	}
	void r; void n;
}
void run; void h; void t; void b;
const viaWindow = new window.WidgetServiceSDK();
const E = WidgetServiceSDK.ConnectorExecuteError;
void viaWindow; void E;
