"""Device payload adapters: one folder per format, each a manifest and a pure parse()."""
