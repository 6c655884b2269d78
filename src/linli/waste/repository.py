"""Every query of the waste domain."""

from __future__ import annotations
