"""Queries of recipients and disclosures."""
