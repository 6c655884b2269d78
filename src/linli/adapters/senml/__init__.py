"""SenML (RFC 8428) JSON telemetry."""
