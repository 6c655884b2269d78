"""Votes: polls and decisions with an electorate by rule, secret ballots and receipts."""
