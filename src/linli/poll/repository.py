"""Queries of the poll domain."""

from __future__ import annotations
