"""Tables of the privacy domain."""
