"""Notifications that are never lost: a durable outbox in the store, delivered with retries.

`service.enqueue` writes one outbox row per destination of a channel in the caller's
transaction; the worker (`worker.DeliveryWorker`) claims due rows, sends each once through its
transport (Apprise, PagerDuty Events v2 or a Slack-compatible webhook), and records the
receiver's answer, retrying with exponential back-off until `max_attempts`.
"""
