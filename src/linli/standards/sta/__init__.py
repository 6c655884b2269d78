"""OGC SensorThings API 1.1 over the platform's devices, datastreams and observations."""
