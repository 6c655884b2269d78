"""Rules: conditions over readings that raise alarms."""
