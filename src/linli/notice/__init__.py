"""Notices and emergency broadcasts to the residents of a place."""
