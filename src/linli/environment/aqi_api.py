"""The AQI calculator: a JSON endpoint and a public page for any concentrations."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["environment"])
