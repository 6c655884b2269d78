"""ThingsBoard-style JSON telemetry."""
