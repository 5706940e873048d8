"""opsbook: makes an operations team's Markdown runbooks live."""

__version__ = "0.1.0"
