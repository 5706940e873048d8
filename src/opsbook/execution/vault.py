"""Shell state that any node can resume from: a run's saved shell state and given values, sealed
in the store.

A run keeps its shell state (`state.sh`: variables, functions, working directory) and the values
it was given (`inputs.json`, secrets included) in its run folder on the machine that runs it.
For another machine to resume the run after that one died, the vault copies both into the
`run_state` table, encrypted with AES-256-GCM under a key derived from `cluster.state_key` (the
run id and the field are bound in as associated data, so a blob cannot be moved to another run).
Nothing reads the table except `restore`; no API, JSON or journal entry shows it. Without a key
nothing is copied: a run resumes on the machine where it ran.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.orm import Session

from opsbook.clock import Clock, SystemClock
from opsbook.config import Config
from opsbook.errors import ConfigError
from opsbook.execution.shell import INPUTS_FILE, STATE_FILE
from opsbook.execution.tables import RunStateRow

_VERSION = b"\x01"
_NONCE = 12


class StateVault:
    def __init__(self, key: str, clock: Clock | None = None) -> None:
        derived = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"opsbook run state v1"
        ).derive(key.encode())
        self._aead = AESGCM(derived)
        self.clock = clock or SystemClock()

    @classmethod
    def from_config(cls, config: Config, clock: Clock | None = None) -> StateVault | None:
        """The vault for `cluster.state_key`, or None when no key is set."""
        key = config.settings.cluster.state_key
        if not key:
            return None
        config.redactor.add(key)
        return cls(key, clock)

    # -- sealing ------------------------------------------------------------------------------

    def seal(self, run_id: int, field: str, data: bytes) -> bytes:
        nonce = os.urandom(_NONCE)
        return _VERSION + nonce + self._aead.encrypt(nonce, data, _aad(run_id, field))

    def unseal(self, run_id: int, field: str, blob: bytes) -> bytes:
        if blob[:1] != _VERSION:
            raise ConfigError(f"run {run_id}: sealed {field} has an unknown format")
        nonce, sealed = blob[1 : 1 + _NONCE], blob[1 + _NONCE :]
        try:
            return self._aead.decrypt(nonce, sealed, _aad(run_id, field))
        except InvalidTag:
            raise ConfigError(
                f"run {run_id}: the saved shell state cannot be opened with this node's "
                "cluster.state_key; every node needs the same key"
            ) from None

    # -- the store ------------------------------------------------------------------------------

    def save_inputs(self, session: Session, run_id: int, values: Mapping[str, str]) -> None:
        row = self._row(session, run_id)
        row.inputs = self.seal(run_id, "inputs", json.dumps(dict(values)).encode())

    def save_state(self, session: Session, run_id: int, state_file: Path) -> None:
        """Copy `state_file` (if the run has one yet) into the store."""
        try:
            data = state_file.read_bytes()
        except FileNotFoundError:
            return
        row = self._row(session, run_id)
        row.state = self.seal(run_id, "state", data)

    def restore(self, session: Session, run_id: int, run_dir: Path) -> bool:
        """Write the run's saved state and inputs into `run_dir` (0700, files 0600); False when
        the store has none."""
        row = session.get(RunStateRow, run_id)
        if row is None:
            return False
        run_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(run_dir, 0o700)
        for field, name, blob in (
            ("state", STATE_FILE, row.state),
            ("inputs", INPUTS_FILE, row.inputs),
        ):
            target = run_dir / name
            if blob is None:
                target.unlink(missing_ok=True)
                continue
            _write_private(target, self.unseal(run_id, field, blob))
        return True

    def _row(self, session: Session, run_id: int) -> RunStateRow:
        row = session.get(RunStateRow, run_id)
        if row is None:
            row = RunStateRow(run_id=run_id, updated_at=self.clock.now())
            session.add(row)
        row.updated_at = self.clock.now()
        return row


def _aad(run_id: int, field: str) -> bytes:
    return f"opsbook:run:{run_id}:{field}".encode()


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(path, 0o600)
