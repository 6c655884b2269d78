"""Every query of the incident domain."""

from __future__ import annotations
