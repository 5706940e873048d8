"""Running procedures step by step: preflight, dry-run plan, gates, shell and SQL steps, resume.

The public entry points live in `opsbook.execution.service` (see docs/runs.md).
"""
