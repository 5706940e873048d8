"""Incidents: severity policy, lifecycle, escalation, communication, timeline and post-mortems."""
