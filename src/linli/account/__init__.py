"""Identity: accounts, role grants on places, sessions, API keys and login throttling."""
