"""Domain-agnostic kit: database, time, errors, crypto, i18n, masking, the acting identity."""
