"""Alerts that arrive from outside opsbook (an existing Prometheus through Alertmanager)."""
