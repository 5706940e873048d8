"""opsbook.yaml: models, loading and validation."""

from opsbook.config.load import Config, config_from_data, load_config

__all__ = ["Config", "config_from_data", "load_config"]
