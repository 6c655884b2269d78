"""The community tree: city, district, street office, community, compound, building, unit."""
