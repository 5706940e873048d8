"""Runbooks: the Markdown model, its parser, what it extracts, lint and import."""
