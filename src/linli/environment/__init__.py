"""Environment: air quality (AQI), noise and water quality, measured and shown plainly."""
