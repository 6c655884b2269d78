"""Every query of the points domain."""

from __future__ import annotations
