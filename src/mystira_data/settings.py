"""Configuration: appsettings.json sections plus ``MYSTIRA__SECTION__KEY`` env overrides.

Precedence (highest first): explicit overrides → environment → appsettings.json → defaults.
Section and key names match the .NET app (``PolyglotPersistence:Phase`` is
``MYSTIRA__POLYGLOTPERSISTENCE__PHASE``); env names are case-insensitive. An empty connection
string selects the embedded default under the data dir. Secrets are `SecretStr` and never shown.
"""

from __future__ import annotations

import ipaddress
import json
import os
from contextvars import ContextVar
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from mystira_data.errors import ConfigError
from mystira_data.gate_settings import Gates
from mystira_data.placement_settings import PlacementThresholds


class Phase(StrEnum):
    """Migration phase of one container (docs/phases.md), in forward order."""

    COSMOS_ONLY = "CosmosOnly"
    DUAL_WRITE_COSMOS_READ = "DualWriteCosmosRead"
    DUAL_WRITE_POSTGRES_READ = "DualWritePostgresRead"
    POSTGRES_ONLY = "PostgresOnly"


class _Section(BaseModel):
    # allow_inf_nan=False: `BreakerOpenSeconds=inf` would open a breaker for ever.
    model_config = ConfigDict(
        extra="forbid", populate_by_name=True, frozen=True, allow_inf_nan=False
    )


class ConnectionStrings(_Section):
    cosmos_db: SecretStr = Field(default=SecretStr(""), alias="CosmosDb")
    cosmos_database: str = Field(default="mystira", alias="CosmosDatabase")
    postgre_sql: SecretStr = Field(default=SecretStr(""), alias="PostgreSql")
    redis: SecretStr = Field(default=SecretStr(""), alias="Redis")
    blob_storage: SecretStr = Field(default=SecretStr(""), alias="BlobStorage")

    # Checked here, at start, so a malformed string is a ConfigError naming the key instead
    # of a driver traceback at first use. Messages never quote the value (it holds secrets).
    @field_validator("postgre_sql")
    @classmethod
    def _database_url(cls, value: SecretStr) -> SecretStr:
        url = value.get_secret_value()
        if url:
            _check_database_url(url)
        return value

    @field_validator("redis")
    @classmethod
    def _redis_url(cls, value: SecretStr) -> SecretStr:
        url = value.get_secret_value()
        if url and not url.startswith(REDIS_SCHEMES):
            raise ValueError(f"must be a URL starting with one of {', '.join(REDIS_SCHEMES)}")
        return value


REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def _check_database_url(url: str) -> None:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise ValueError("not a database URL (e.g. postgresql://user@host:5432/db)") from None
    if parsed.get_backend_name() not in ("postgresql", "postgres", "sqlite"):
        raise ValueError("must be a postgresql:// (or sqlite://) URL")


class PolyglotPersistence(_Section):
    phase: Phase = Field(default=Phase.COSMOS_ONLY, alias="Phase")
    enable_compensation: bool = Field(default=True, alias="EnableCompensation")
    dual_write_timeout_ms: int = Field(default=5000, ge=1, le=600_000, alias="DualWriteTimeoutMs")
    secondary_write_mode: str = Field(default="inline", alias="SecondaryWriteMode")
    # In async mode, apply the queued secondary writes in a child process
    # (polyglot/write/writer_process.py) so their CPU does not delay the callers; off: on the
    # callers' event loop.
    async_writer_process: bool = Field(default=True, alias="AsyncWriterProcess")
    enable_consistency_validation: bool = Field(default=False, alias="EnableConsistencyValidation")
    consistency_sample_rate: float = Field(
        default=0.1, ge=0.0, le=1.0, alias="ConsistencySampleRate"
    )
    containers: dict[str, Phase] = Field(default_factory=dict, alias="Containers")
    retry_attempts: int = Field(default=3, ge=1, le=20, alias="RetryAttempts")
    retry_base_delay_ms: int = Field(default=100, ge=0, le=60_000, alias="RetryBaseDelayMs")
    breaker_failure_threshold: int = Field(
        default=5, ge=1, le=10_000, alias="BreakerFailureThreshold"
    )
    breaker_open_seconds: float = Field(
        default=30.0, gt=0, le=3600, alias="BreakerOpenSeconds"
    )
    # A switch of the primary store is scheduled, then fenced (polyglot/phase/control.py): writes
    # pause everywhere from "refresh interval + margin" after it is scheduled until the flip.
    phase_switch_margin_ms: int = Field(default=1000, ge=0, le=600_000, alias="PhaseSwitchMarginMs")
    # How long a write that started before the fence may still be landing in the old primary;
    # the switcher waits this long after the fence before catching up (> the slowest write).
    phase_switch_drain_ms: int = Field(default=10_000, ge=0, le=600_000, alias="PhaseSwitchDrainMs")
    # Writes stay paused at most this long after the fence: then the switch expires and every
    # instance resumes under the old phase (a switcher that died cannot freeze a container).
    phase_switch_max_freeze_ms: int = Field(
        default=60_000, ge=1, le=3_600_000, alias="PhaseSwitchMaxFreezeMs"
    )
    # How long one paused write waits for the flip before failing with StoreUnavailable.
    phase_switch_write_wait_ms: int = Field(
        default=30_000, ge=1, le=3_600_000, alias="PhaseSwitchWriteWaitMs"
    )
    # How long replication lets a child change wait for its missing parent row (from its first
    # failure, by the database's clock) before dead-lettering it; below `replicate --once`'s
    # 120 s so a catch-up ends with the orphan counted instead of timing out.
    parent_wait_ms: int = Field(default=30_000, ge=0, le=110_000, alias="ParentWaitMs")
    # Document-store requests per second shared by all workers of a backfill or verify run
    # (`--workers`, polyglot/runs/budget.py); None: no budget (429s still slow the run).
    document_budget_per_second: float | None = Field(
        default=None, gt=0, alias="DocumentBudgetPerSecond"
    )

    @field_validator("secondary_write_mode")
    @classmethod
    def _mode(cls, value: str) -> str:
        if value not in ("inline", "async"):
            raise ValueError("must be 'inline' or 'async'")
        return value

    @field_validator("containers", mode="before")
    @classmethod
    def _known_containers(cls, value: Any) -> Any:
        # Env names arrive lower-cased: match catalog names ignoring case.
        from mystira_data import catalog

        return catalog.by_catalog_name(value) if isinstance(value, dict) else value

    @model_validator(mode="after")
    def _switch_can_finish(self) -> PolyglotPersistence:
        if self.phase_switch_max_freeze_ms <= self.phase_switch_drain_ms:
            raise ValueError(
                "PhaseSwitchMaxFreezeMs must exceed PhaseSwitchDrainMs, "
                "or a switch of the primary expires before it can flip"
            )
        return self

    def phase_for(self, container: str) -> Phase:
        """Configured phase of ``container`` (override, else the default)."""
        return self.containers.get(container, self.phase)


class Caching(_Section):
    enabled: bool = Field(default=True, alias="Enabled")
    default_sliding_expiration_minutes: float = Field(
        default=30, gt=0, alias="DefaultSlidingExpirationMinutes"
    )
    default_absolute_expiration_minutes: float = Field(
        default=120, gt=0, alias="DefaultAbsoluteExpirationMinutes"
    )
    key_prefix: str = Field(default="mystira:", min_length=1, alias="KeyPrefix")
    enable_write_through: bool = Field(default=True, alias="EnableWriteThrough")
    enable_invalidation_on_change: bool = Field(default=True, alias="EnableInvalidationOnChange")
    l1_max_entries: int = Field(default=10_000, ge=1, alias="L1MaxEntries")


class Media(_Section):
    max_upload_bytes: int = Field(default=100 * 1024 * 1024, ge=1, alias="MaxUploadBytes")


def _split(cidrs: str) -> list[str]:
    return [c.strip() for c in cidrs.split(",") if c.strip()]


class Api(_Section):
    """`mystira serve`: request limits and optional OIDC sign-in (keys work without it)."""

    # Above a document's 2 MB store limit, so a too-big document is a 422 naming the limit.
    max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1, alias="MaxBodyBytes")
    # Token bucket per API key (per process): sustained requests per second, and the burst.
    rate_limit_per_second: float = Field(default=200.0, gt=0, alias="RateLimitPerSecond")
    rate_limit_burst: int = Field(default=400, ge=1, alias="RateLimitBurst")
    # How long a process trusts a key it looked up; a revocation takes effect after this.
    key_cache_seconds: float = Field(default=1.0, ge=0, le=1.0, alias="KeyCacheSeconds")
    oidc_issuer: str = Field(default="", alias="OidcIssuer")
    oidc_audience: str = Field(default="", alias="OidcAudience")
    oidc_jwks_file: Path | None = Field(default=None, alias="OidcJwksFile")
    oidc_role_claim: str = Field(default="mystira_role", alias="OidcRoleClaim")
    oidc_account_claim: str = Field(default="mystira_account", alias="OidcAccountClaim")
    # Who may read /metrics: CIDRs, comma-separated ("10.0.0.0/8,127.0.0.1/32"); empty = all.
    metrics_allow: str = Field(default="", alias="MetricsAllow")

    @field_validator("metrics_allow")
    @classmethod
    def _cidrs(cls, value: str) -> str:
        for cidr in _split(value):
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                raise ValueError(f"not a CIDR: {cidr!r}") from None
        return value

    def metrics_allowed(self, address: str) -> bool:
        """True when ``address`` may read /metrics (always, with no allow-list)."""
        cidrs = _split(self.metrics_allow)
        if not cidrs:
            return True
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False  # no address (or a name): only an open /metrics serves it
        return any(ip in ipaddress.ip_network(c, strict=False) for c in cidrs)

    @model_validator(mode="after")
    def _oidc_complete(self) -> Api:
        named = [bool(self.oidc_issuer), bool(self.oidc_audience), self.oidc_jwks_file is not None]
        if any(named) and not all(named):
            raise ValueError("OIDC needs OidcIssuer, OidcAudience and OidcJwksFile together")
        return self

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_issuer)


class DocumentFormat(StrEnum):
    """The JSON shape of the document store's documents (`documents.formats`)."""

    NATIVE = "native"  # our camelCase model JSON
    EFCORE9 = "efcore9"  # what the C# app's EF Core 9 Cosmos provider writes


class DocumentStoreSection(_Section):
    format: DocumentFormat = Field(default=DocumentFormat.NATIVE, alias="Format")


class Settings(BaseSettings):
    """All configuration. Build it with `load_settings` to get `ConfigError`s."""

    model_config = SettingsConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    connection_strings: ConnectionStrings = Field(
        default_factory=ConnectionStrings, alias="ConnectionStrings"
    )
    polyglot_persistence: PolyglotPersistence = Field(
        default_factory=PolyglotPersistence, alias="PolyglotPersistence"
    )
    caching: Caching = Field(default_factory=Caching, alias="Caching")
    media: Media = Field(default_factory=Media, alias="Media")
    api: Api = Field(default_factory=Api, alias="Api")
    document_store: DocumentStoreSection = Field(
        default_factory=DocumentStoreSection, alias="DocumentStore"
    )
    gates: Gates = Field(default_factory=Gates, alias="Gates")
    placement: PlacementThresholds = Field(
        default_factory=PlacementThresholds, alias="Placement"
    )
    data_dir: Path = Field(default=Path(".mystira"), alias="DataDir")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Highest first: explicit arguments, MYSTIRA__ env vars, appsettings.json.
        return (init_settings, _EnvSource(settings_cls), _AppSettingsSource(settings_cls))


ENV_PREFIX = "MYSTIRA__"
_APPSETTINGS: ContextVar[tuple[Path, bool]] = ContextVar(
    "appsettings", default=(Path("appsettings.json"), False)
)


class _AppSettingsSource(PydanticBaseSettingsSource):
    """appsettings.json, with .NET section/key names matched case-insensitively."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        path, required = _APPSETTINGS.get()
        return _canonical(Settings, _read_json(path, required))


class _EnvSource(PydanticBaseSettingsSource):
    """``MYSTIRA__SECTION__KEY`` variables; double underscore nests, as in .NET."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        nested: dict[str, Any] = {}
        for name, value in os.environ.items():
            if not name.upper().startswith(ENV_PREFIX):
                continue
            *parents, leaf = name[len(ENV_PREFIX) :].split("__")
            node = nested
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = value
        return _canonical(Settings, nested)


def _squash(name: str) -> str:
    return name.replace("_", "").lower()


def _canonical(model: type[BaseModel], data: dict[str, Any]) -> dict[str, Any]:
    """Rename keys to ``model``'s field names, ignoring case and underscores; recurse."""
    fields: dict[str, tuple[str, FieldInfo | None]] = {}
    for name, info in model.model_fields.items():
        fields[_squash(name)] = (name, info)
        if info.alias:
            fields[_squash(info.alias)] = (name, info)
    out: dict[str, Any] = {}
    for key, value in data.items():
        name, found = fields.get(_squash(key), (key, None))
        sub = found.annotation if found is not None else None
        if isinstance(value, dict) and isinstance(sub, type) and issubclass(sub, BaseModel):
            value = _canonical(sub, value)
        out[name] = value
    return out


def load_settings(
    path: Path | None = None, *, data_dir: Path | None = None, **overrides: Any
) -> Settings:
    """Read ``path`` (default ./appsettings.json if present), then env, then ``overrides``.

    Raises `ConfigError` naming the first bad key and why; values are never echoed.
    """
    token = _APPSETTINGS.set((path or Path("appsettings.json"), path is not None))
    try:
        init = _canonical(Settings, overrides)
        if data_dir is not None:
            init["data_dir"] = data_dir
        return Settings(**init)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ConfigError(_dotnet_key(err["loc"]), err["msg"]) from None
    finally:
        _APPSETTINGS.reset(token)


def _dotnet_key(loc: tuple[int | str, ...]) -> str:
    """``('caching', 'key_prefix')`` → ``Caching:KeyPrefix``, the name users write."""
    parts: list[str] = []
    model: Any = Settings
    for item in loc:
        is_model = isinstance(model, type) and issubclass(model, BaseModel)
        info = model.model_fields.get(item) if is_model else None
        parts.append(info.alias or str(item) if info is not None else str(item))
        model = info.annotation if info is not None else None
    return ":".join(parts) or "settings"


def _read_json(path: Path, required: bool) -> dict[str, Any]:
    if not path.exists():
        if required:
            raise ConfigError(str(path), "settings file not found")
        return {}
    try:
        # utf-8-sig: .NET tools save appsettings.json with a byte-order mark.
        loaded = json.loads(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise ConfigError(
            str(path), f"settings file is not UTF-8 (byte {exc.start})"
        ) from None
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(str(path), f"cannot read settings file: {exc}") from None
    if not isinstance(loaded, dict):
        raise ConfigError(str(path), "settings file must hold a JSON object")
    return loaded
