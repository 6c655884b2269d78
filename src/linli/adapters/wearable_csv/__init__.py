"""A care wristband's key=value lines (vendor format)."""
