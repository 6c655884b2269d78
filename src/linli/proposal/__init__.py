"""Suggestions: residents propose, others support, the community answers in public."""
