"""Scheduled jobs: cron as a pure function, jobs and their history as rows, and the worker."""
