"""The demo community's device simulator."""
