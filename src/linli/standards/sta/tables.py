"""The tables the SensorThings read model queries (the one place that names them)."""

from __future__ import annotations

from linli.device.models import Datastream, Device, DeviceProfile, ObservedProperty
from linli.telemetry.models import Observation

__all__ = ["Datastream", "Device", "DeviceProfile", "Observation", "ObservedProperty"]
