"""Smart waste: bins, disposals, sorting grades, fill alarms and collection routes."""
