"""Writing the config of `opsbook serve --example` for this machine.

The bundled `opsbook.yaml` is copied into the data folder with its data folder, the path of the
bundled runbooks and the server's own address filled in, and, when something answers on their
usual local ports, checks for PostgreSQL and Redis; the written file is what the example runs,
so people can read it and copy it to start their own.
"""

from __future__ import annotations

import socket
from pathlib import Path

EXAMPLES = Path(__file__).parent
BASE_CONFIG = EXAMPLES / "opsbook.yaml"
RUNBOOKS = EXAMPLES / "runbooks"
CONFIG_NAME = "example.yaml"
POSTGRES = ("127.0.0.1", 5432)
REDIS = ("127.0.0.1", 6379)

POSTGRES_CHECK = """\
  - name: postgres
    type: postgres
    connection: postgresql://postgres@127.0.0.1:5432/postgres
    interval: 30s
    group: Databases
    description: PostgreSQL on this machine (found when the example started).
"""
REDIS_CHECK = """\
  - name: redis
    type: redis
    url: redis://127.0.0.1:6379/0
    interval: 30s
    group: Databases
    description: Redis on this machine (found when the example started).
"""


def listening(host: str, port: int, timeout: float = 0.3) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def example_config_text(*, self_url: str, data_dir: Path) -> str:
    text = BASE_CONFIG.read_text(encoding="utf-8").rstrip() + "\n"
    text = text.replace("${SELF_URL}", self_url).replace("${RUNBOOKS}", str(RUNBOOKS))
    if listening(*POSTGRES):
        text += POSTGRES_CHECK
    if listening(*REDIS):
        text += REDIS_CHECK
    return text + f"data_dir: {data_dir}\n"


def write_example_config(data_dir: Path, *, self_url: str) -> Path:
    """Write the example config for this machine into `data_dir`; returns its path."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / CONFIG_NAME
    path.write_text(example_config_text(self_url=self_url, data_dir=data_dir), encoding="utf-8")
    return path
