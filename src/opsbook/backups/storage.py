"""Where backup files live: a local folder, or S3-compatible object storage.

A backup is first written to a staging file; only a complete, checksummed file is given to
`put`, which makes it appear under its final name at once (a rename on the same filesystem, or
an upload that S3 makes visible only when it has completed). A failed or partial backup never
takes a good one's place. `copy` does the same for an off-site copy, and `digest` reads a
stored file back to prove it.

A process killed meanwhile leaves its staging file (`.NAME.partial`), or in S3 an unfinished
multipart upload; `leftovers` finds them by the backup id in their name, `discard` removes one.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from opsbook.backups.model import Progress
from opsbook.config import Config
from opsbook.config.backups import DestinationConfig
from opsbook.errors import UnavailableError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_CHUNK = 1024 * 1024
_BACKUP_NAME = re.compile(r"^(?P<target>.+)-\d{8}T\d{6}Z-(?P<id>\d+)\.[A-Za-z0-9.]+$")
_STAGED_NAME = re.compile(r"^\.(?P<name>.+)\.partial$")


@dataclass(frozen=True, slots=True)
class Leftover:
    """A staging file or an unfinished upload of backup `backup_id`, found in a store."""

    backup_id: int
    where: str  # for people: the path, or the s3:// URL and upload id
    path: Path | None = None
    upload: tuple[str, str] | None = None  # (object name, upload id)


def backup_id_in(name: str, target: str) -> int | None:
    """The backup id in a file name `TARGET-YYYYmmddTHHMMSSZ-ID.EXT` of `target`, else None."""
    match = _BACKUP_NAME.match(name)
    if match is None or match["target"] != target:
        return None
    return int(match["id"])


def staged_files(folder: Path, target: str) -> list[Leftover]:
    """The `.NAME.partial` staging files of `target`'s backups in `folder`."""
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.glob(".*.partial")):
        match = _STAGED_NAME.match(path.name)
        backup_id = backup_id_in(match["name"], target) if match else None
        if backup_id is not None and path.is_file():
            found.append(Leftover(backup_id, str(path), path=path))
    return found


def file_digest(path: Path, progress: Progress | None = None) -> tuple[int, str]:
    """Size in bytes and SHA-256 (hex) of a file."""
    with path.open("rb") as handle:
        return _stream_digest(iter(lambda: handle.read(_CHUNK), b""), progress)


def _stream_digest(chunks: Iterable[bytes], progress: Progress | None) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    for chunk in chunks:
        digest.update(chunk)
        size += len(chunk)
        if progress is not None:
            progress(size)
    return size, digest.hexdigest()


class Storage(Protocol):
    def location(self, key: str) -> str:
        """Where `key` is, for people: a path or an s3:// URL."""
        ...

    def staging_dir(self, key: str) -> Path:
        """A folder for the file being written, from which `put` can publish it cheaply."""
        ...

    def put(self, staged: Path, key: str, progress: Progress | None = None) -> None:
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

    def copy(self, source: Path, key: str, progress: Progress | None = None) -> None:
        """Store a copy of the local file `source` as `key`, which appears only when complete;
        `source` stays as it is."""
        ...

    def digest(self, key: str, progress: Progress | None = None) -> tuple[int, str]:
        """Size and SHA-256 of `key` as stored, read back in full."""
        ...

    def leftovers(self, target: str) -> list[Leftover]:
        """Staging files and unfinished uploads of `target`'s backups."""
        ...

    def discard(self, leftover: Leftover) -> None:
        """Remove a staging file, or abort an unfinished upload."""
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

    def put(self, staged: Path, key: str, progress: Progress | None = None) -> None:
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

    def copy(self, source: Path, key: str, progress: Progress | None = None) -> None:
        final = self.root / key
        staged = final.parent / f".{final.name}.partial"
        try:
            self.staging_dir(key)
            with source.open("rb") as src, staged.open("wb") as dst:
                written = 0
                while chunk := src.read(_CHUNK):
                    dst.write(chunk)
                    written += len(chunk)
                    if progress is not None:
                        progress(written)
            self.put(staged, key)
        except OSError as exc:
            raise UnavailableError(f"cannot copy to {final}: {exc.strerror or exc}") from None
        finally:
            staged.unlink(missing_ok=True)

    def digest(self, key: str, progress: Progress | None = None) -> tuple[int, str]:
        try:
            return file_digest(self.root / key, progress)
        except OSError as exc:
            raise UnavailableError(
                f"cannot read {self.root / key}: {exc.strerror or exc}"
            ) from None

    def leftovers(self, target: str) -> list[Leftover]:
        return staged_files(self.root / target, target)

    def discard(self, leftover: Leftover) -> None:
        if leftover.path is not None:
            leftover.path.unlink(missing_ok=True)


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

    def put(self, staged: Path, key: str, progress: Progress | None = None) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.upload_file(
                str(staged), self.bucket, self._name(key), Callback=_Transferred(progress)
            )
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

    def copy(self, source: Path, key: str, progress: Progress | None = None) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.upload_file(
                str(source), self.bucket, self._name(key), Callback=_Transferred(progress)
            )
        except (BotoCoreError, ClientError) as exc:
            raise UnavailableError(f"cannot upload to {self.location(key)}: {exc}") from None
        except OSError as exc:
            raise UnavailableError(f"cannot read {source}: {exc.strerror or exc}") from None

    def digest(self, key: str, progress: Progress | None = None) -> tuple[int, str]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self._name(key))["Body"]
            with body:
                return _stream_digest(body.iter_chunks(_CHUNK), progress)
        except (BotoCoreError, ClientError) as exc:
            raise UnavailableError(f"cannot read back {self.location(key)}: {exc}") from None

    def leftovers(self, target: str) -> list[Leftover]:
        from botocore.exceptions import BotoCoreError, ClientError

        found = staged_files(self.staging, target)
        prefix = self._name(f"{target}/")
        try:
            pages = self.client.get_paginator("list_multipart_uploads").paginate(
                Bucket=self.bucket, Prefix=prefix
            )
            uploads = [u for page in pages for u in page.get("Uploads", [])]
        except (BotoCoreError, ClientError) as exc:
            raise UnavailableError(
                f"cannot list unfinished uploads in s3://{self.bucket}/{prefix}: {exc}"
            ) from None
        for upload in uploads:
            name, upload_id = upload.get("Key", ""), upload.get("UploadId", "")
            backup_id = backup_id_in(name.rsplit("/", 1)[-1], target)
            if backup_id is not None and upload_id:
                where = f"s3://{self.bucket}/{name} (unfinished upload {upload_id})"
                found.append(Leftover(backup_id, where, upload=(name, upload_id)))
        return found

    def discard(self, leftover: Leftover) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        if leftover.path is not None:
            leftover.path.unlink(missing_ok=True)
        if leftover.upload is None:
            return
        name, upload_id = leftover.upload
        try:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=name, UploadId=upload_id)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "NoSuchUpload":
                raise UnavailableError(f"cannot abort {leftover.where}: {exc}") from None
        except BotoCoreError as exc:
            raise UnavailableError(f"cannot abort {leftover.where}: {exc}") from None


class _Transferred:
    """boto3's upload callback (called from its threads with each chunk's size) as `Progress`
    with the bytes sent so far, called one at a time."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress, self.sent, self.lock = progress, 0, threading.Lock()

    def __call__(self, amount: int) -> None:
        with self.lock:
            self.sent += amount
            if self.progress is not None:
                self.progress(self.sent)


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
