"""Cases: problem reports and requests, with categories, SLAs and a public history."""
