"""The demo community that `linli demo` seeds: places, households, residents and logins."""
