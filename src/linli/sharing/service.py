"""Sharing use cases: the recipient registry and disclosures to recipients."""
