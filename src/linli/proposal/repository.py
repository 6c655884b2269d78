"""Queries of the proposal domain."""

from __future__ import annotations
