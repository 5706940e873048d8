"""Where backup files live: a local folder, or S3-compatible object storage.

A backup is first written to a staging file; only a complete, checksummed file is given to
`put`, which makes it appear under its final name at once (a rename on the same filesystem, or
an upload that S3 makes visible only when it has completed). A failed or partial backup never
takes a good one's place.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from opsbook.config import Config
from opsbook.config.backups import DestinationConfig
from opsbook.errors import UnavailableError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


class Storage(Protocol):
    def location(self, key: str) -> str:
        """Where `key` is, for people: a path or an s3:// URL."""
        ...

    def staging_dir(self, key: str) -> Path:
        """A folder for the file being written, from which `put` can publish it cheaply."""
        ...

    def put(self, staged: Path, key: str) -> None:
        """Publish the complete file `staged` as `key`; `staged` is gone afterwards."""
        ...

    def local_path(self, key: str) -> Path | None:
        """The file itself when it is on this machine; None when it must be fetched."""
        ...

    def fetch(self, key: str, into: Path) -> None:
        """Copy `key` to the local file `into`."""
        ...

    def delete(self, key: str) -> None:
        """Remove `key`; no error when it is already gone."""
        ...


class LocalStorage:
    def __init__(self, root: Path) -> None:
        self.root = root

    def location(self, key: str) -> str:
        return str(self.root / key)

    def staging_dir(self, key: str) -> Path:
        folder = (self.root / key).parent
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def put(self, staged: Path, key: str) -> None:
        final = self.root / key
        final.parent.mkdir(parents=True, exist_ok=True)
        with staged.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(staged, final)
        _fsync_dir(final.parent)

    def local_path(self, key: str) -> Path | None:
        return self.root / key

    def fetch(self, key: str, into: Path) -> None:
        shutil.copyfile(self.root / key, into)

    def delete(self, key: str) -> None:
        (self.root / key).unlink(missing_ok=True)


class S3Storage:
    def __init__(self, client: S3Client, bucket: str, prefix: str, staging: Path) -> None:
        self.client, self.bucket, self.prefix, self.staging = client, bucket, prefix, staging

    def _name(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def location(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._name(key)}"

    def staging_dir(self, key: str) -> Path:
        self.staging.mkdir(parents=True, exist_ok=True)
        return self.staging

    def put(self, staged: Path, key: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.upload_file(str(staged), self.bucket, self._name(key))
            head = self.client.head_object(Bucket=self.bucket, Key=self._name(key))
        except (BotoCoreError, ClientError) as exc:
            raise UnavailableError(f"cannot upload to {self.location(key)}: {exc}") from None
        if head["ContentLength"] != staged.stat().st_size:
            raise UnavailableError(f"{self.location(key)} has the wrong size after upload")
        staged.unlink()

    def local_path(self, key: str) -> Path | None:
        return None

    def fetch(self, key: str, into: Path) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.download_file(self.bucket, self._name(key), str(into))
        except (BotoCoreError, ClientError) as exc:
            raise UnavailableError(f"cannot download {self.location(key)}: {exc}") from None

    def delete(self, key: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._name(key))
        except (BotoCoreError, ClientError) as exc:
            raise UnavailableError(f"cannot delete {self.location(key)}: {exc}") from None


def open_storage(config: Config, destination: DestinationConfig) -> Storage:
    """The storage a target's `destination` names."""
    if not destination.is_s3:
        return LocalStorage(config.resolve_path(destination.url.removeprefix("file://")))
    import boto3

    bucket, _, prefix = destination.url[len("s3://") :].partition("/")
    secret = destination.secret_access_key
    client = boto3.client(
        "s3",
        endpoint_url=destination.endpoint,
        region_name=destination.region,
        aws_access_key_id=destination.access_key_id,
        aws_secret_access_key=secret.get_secret_value() if secret else None,
    )
    return S3Storage(client, bucket, prefix.strip("/"), config.data_dir / "backup-staging")


def scratch_dir(config: Config) -> Path:
    """A new private folder for fetched files and restore tests; the caller removes it."""
    base = config.data_dir / "tmp"
    base.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix="opsbook-", dir=base))


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
