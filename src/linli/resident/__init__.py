"""People and households, with personal data classified and sensitive fields encrypted."""
