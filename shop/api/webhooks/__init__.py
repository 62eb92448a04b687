"""Webhooks: subscriptions, signed deliveries with retries, and the domain-event mapping."""
