"""Standard interfaces over the domains (OGC SensorThings, Open311, CAP, ...)."""
