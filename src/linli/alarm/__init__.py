"""Alarms: raised by rules, acknowledged and cleared, with a timeline."""
