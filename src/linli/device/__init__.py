"""Device registry: profiles, devices, datastreams and their credentials."""
