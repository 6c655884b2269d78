"""Privacy by design: the personal-data inventory and what later privacy jobs build on."""
