"""Telemetry store: observations, rollups, quarantine, series for charts."""
