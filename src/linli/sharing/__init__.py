"""Sharing: the registry of outside recipients and the log of every disclosure to them."""
