
WidgetServiceSDK.WidgetServiceSDK = WidgetServiceSDK;
WidgetServiceSDK.ConnectorBoundaryError = ConnectorBoundaryError;
WidgetServiceSDK.ConnectorExecuteError = ConnectorExecuteError;
return WidgetServiceSDK;
});
