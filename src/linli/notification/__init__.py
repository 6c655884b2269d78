"""Notifications: a transactional outbox delivered over in-app, e-mail, webhooks and more."""
