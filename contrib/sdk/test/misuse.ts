// Each line whose comment says error is a mistake the declarations must refuse.
import { WidgetServiceSDK } from "./widget-sdk";

const sdk = new WidgetServiceSDK({ timeout: "30s" }); // error
sdk.connectors.execute({ permalink: "x", method: "FETCH" }); // error
sdk.connectors.execute({ method: "GET" }); // error
sdk.connectors.execute({ permalink: "x", method: "GET", pathParams: { a: true } }); // error
sdk.connectors.execute({ permalink: "x", method: "GET", queryParams: { a: 1 } }); // error
sdk.composite.execute({ permalink: "x", pathParams: { a: "1" } }); // error
sdk.updateHeaders({ "X-A": 1 }); // error
const n: string = sdk.getDefaultTimeout(); // error
void n;
