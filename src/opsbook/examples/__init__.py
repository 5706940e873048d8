"""The bundled example for `opsbook serve --example`: a config and runbooks that need nothing."""
