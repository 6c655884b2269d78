"""Incentive points: an append-only double-entry ledger, earning rules and rewards."""
