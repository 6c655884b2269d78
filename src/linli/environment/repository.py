"""Every query of the environment domain."""

from __future__ import annotations
