"""Incidents: emergencies, responders, dispatch, warnings and police linkage."""
