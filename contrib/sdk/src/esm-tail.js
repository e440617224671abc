
export { WidgetServiceSDK, ConnectorBoundaryError, ConnectorExecuteError };
export default WidgetServiceSDK;
