"""The HTTP face of opsbook: JSON API, server-rendered pages and the public status page.

`create_app(runtime)` builds the application; `opsbook serve` runs it beside the workers.
"""
