"""`backups:` in opsbook.yaml: what to back up, where to keep it, and how to prove it restores.

backups:
  - name: main
    type: postgres
    url: postgresql://app:${DB_PASSWORD}@db.internal:5432/app   # or a `connections:` name
    destination: /var/backups/opsbook                            # or s3://bucket/prefix
    offsite: s3://acme-backups/opsbook                           # a verified copy of each backup
    retention: {keep_last: 3, keep_daily: 7, keep_weekly: 4, keep_monthly: 6}
    rpo: 1h
    rto: 4h
    smoke_queries: ["SELECT count(*) FROM users"]
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, SecretStr, field_validator, model_validator

from opsbook.config.schedules import NAME_PATTERN, SectionModel
from opsbook.config.types import Duration


class DestinationConfig(SectionModel):
    """Where backup files are kept: a local folder, or S3-compatible object storage."""

    url: str = Field(description="A folder (relative to the config file) or `s3://bucket/prefix`.")
    endpoint: str | None = Field(
        default=None,
        description="S3 endpoint URL for S3-compatible storage (MinIO, Ceph, ...); AWS when unset.",
    )
    region: str | None = Field(default=None, description="S3 region, when the storage needs one.")
    access_key_id: str | None = Field(
        default=None, description="S3 access key id; use ${VAR}. Unset: the AWS_* environment."
    )
    secret_access_key: SecretStr | None = Field(
        default=None, description="S3 secret access key; use ${VAR}. Unset: the AWS_* environment."
    )

    @property
    def is_s3(self) -> bool:
        return self.url.startswith("s3://")

    @field_validator("url")
    @classmethod
    def _bucket_named(cls, value: str) -> str:
        if value.startswith("s3://") and not value[5:].split("/", 1)[0]:
            raise ValueError(
                f"an S3 destination names its bucket: s3://bucket/prefix, not {value!r}"
            )
        if "://" in value and not value.startswith(("s3://", "file://")):
            raise ValueError(f"a destination is a folder or s3://bucket/prefix, not {value!r}")
        return value

    def same_place(self, other: DestinationConfig) -> bool:
        return (self.url.rstrip("/"), self.endpoint) == (other.url.rstrip("/"), other.endpoint)


class RetentionConfig(SectionModel):
    """Which successful backups prune keeps; every other one is deleted."""

    keep_last: int = Field(default=3, ge=0, description="Keep the newest N backups.")
    keep_daily: int = Field(
        default=7, ge=0, description="Keep the newest backup of each of the last N days."
    )
    keep_weekly: int = Field(
        default=4, ge=0, description="Keep the newest backup of each of the last N ISO weeks."
    )
    keep_monthly: int = Field(
        default=6, ge=0, description="Keep the newest backup of each of the last N months."
    )
    timezone: str = Field(
        default="UTC", description="IANA time zone whose calendar days, weeks and months count."
    )

    @field_validator("timezone")
    @classmethod
    def _valid_zone(cls, value: str) -> str:
        from opsbook.scheduler.cron import zone

        zone(value)
        return value


class BackupConfig(SectionModel):
    """One backup target."""

    name: str = Field(
        pattern=NAME_PATTERN,
        description="Unique target name; the `target` label of its metrics.",
    )
    type: Literal["postgres", "sqlite", "files"] = Field(
        description="`postgres` (pg_dump -Fc), `sqlite` (online backup) or `files` (tar.gz)."
    )
    url: str | None = Field(
        default=None,
        description="postgres: the database URL or a `connections:` name; ${VAR} for passwords.",
    )
    path: str | None = Field(
        default=None, description="sqlite: the database file; files: the folder to archive."
    )
    exclude: list[str] = Field(
        default_factory=list,
        description="files: glob patterns (relative to `path`) left out of the archive.",
    )
    destination: DestinationConfig = Field(
        description="Where backups are kept: a folder, or {url: s3://..., endpoint, ...}."
    )
    offsite: DestinationConfig | None = Field(
        default=None,
        description="Where a copy of every verified backup is uploaded and verified: a folder, "
        "or {url: s3://..., endpoint, ...} as for `destination`.",
    )
    retention: RetentionConfig = Field(
        default_factory=RetentionConfig,
        description="What `backup prune` keeps, of the backups and of their off-site copies.",
    )
    rpo: Duration = Field(
        default=86400.0,
        description="Recovery point objective: the newest good backup may be at most this old.",
    )
    rto: Duration | None = Field(
        default=None,
        description="Recovery time objective: restore tests record their time against it.",
    )
    smoke_queries: list[str] = Field(
        default_factory=list,
        description="SQL run on every restore test; each must return a row whose first value "
        "is not false, 0 or NULL.",
    )
    restore_url: str | None = Field(
        default=None,
        description="postgres: server (URL or connection name) for restore-test scratch "
        "databases; default: the source server.",
    )
    count_tables: int = Field(
        default=10,
        ge=0,
        description="How many of the largest tables get their rows counted at backup time.",
    )
    restore_jobs: int = Field(
        default=2, ge=1, le=64, description="postgres: parallel pg_restore jobs."
    )

    @field_validator("destination", "offsite", mode="before")
    @classmethod
    def _destination_shorthand(cls, value: object) -> object:
        return {"url": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _source_given(self) -> BackupConfig:
        if self.type == "postgres" and not self.url:
            raise ValueError("a postgres backup needs `url` (a database URL or connection name)")
        if self.type != "postgres" and not self.path:
            raise ValueError(f"a {self.type} backup needs `path`")
        if self.type == "files" and self.smoke_queries:
            raise ValueError("smoke_queries apply to databases, not to a files backup")
        if self.exclude and self.type != "files":
            raise ValueError("exclude applies to files backups only")
        if self.offsite is not None and self.offsite.same_place(self.destination):
            raise ValueError("offsite names the destination itself; give another place")
        return self


def _unique_names(items: list[BackupConfig]) -> list[BackupConfig]:
    seen: set[str] = set()
    for item in items:
        if item.name in seen:
            raise ValueError(f"two backups are named {item.name!r}; target names must be unique")
        seen.add(item.name)
    return items


Backups = Annotated[list[BackupConfig], AfterValidator(_unique_names)]
