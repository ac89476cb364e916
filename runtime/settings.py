"""The one settings object, read from the environment and `.env` (names documented in docs/configuration.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: SecretStr | None = Field(
        None, description="PostgreSQL URL (it may carry a password: kept out of reprs); unset = embedded"
    )
    data_dir: Path = Field(Path(".campaign-data"), description="embedded PostgreSQL data folder")
    kafka_bootstrap_servers: str | None = Field(None, description="unset = in-process transport")
    kafka_topic_prefix: str = Field("", description="prefix for topics and consumer groups")
    kafka_start_timeout: float = Field(
        300.0, gt=0, description="seconds a starting role waits for an unreachable Kafka before failing"
    )
    embedded_restart_timeout: float = Field(
        120.0, gt=0, description="seconds serve keeps restarting a dead embedded PostgreSQL before exiting"
    )
    host: str = "127.0.0.1"
    port: int = 8000
    dev_clock: bool = False
    clock_offset_file: Path | None = Field(
        None,
        description="tests and the soak only: a file holding the seconds every process's clock runs ahead"
        " of the machine's, read on every reading (`python -m soak` writes it); unset: the machine's clock",
    )
    channel_processes: bool = Field(
        True,
        description="`serve` runs each channel's relay and send worker, and the projector, in processes of"
        " their own (in-process transport, no dev clock); false keeps every role in one process",
    )
    channel_idle_seconds: float = Field(
        300.0,
        gt=0,
        le=86_400,
        description="`serve` starts a channel's process when that channel has work and stops it after this"
        " many seconds without any (with channel processes)",
    )
    development_routes: bool = Field(
        False,
        description="the sandbox outbox and, with dev_clock, the dev clock routes; `serve` turns it on,"
        " the `api` role never",
    )
    durable: bool = Field(True, description="embedded PostgreSQL fsync; tests turn it off")
    postgres_lock_timeout: int = 5
    batch_size: int = 500
    poll_interval: float = 0.05
    log_level: str = "INFO"
    log_format: Literal["json", "text"] | None = Field(
        None,
        description="`json`: one JSON object a line; `text`: for people; unset: text on a terminal, else json",
    )
    metrics_port: int | None = Field(
        None, ge=0, le=65535, description="serve Prometheus /metrics on this port too (every role)"
    )
    sandbox_delay_ms: int = Field(
        0, description="sandbox provider latency per send, for tests and benchmarks"
    )
    default_phone_region: str = Field(
        "US", pattern=r"^[A-Za-z]{2}$", description="region of phone numbers imported without +country code"
    )
    credentials_key: SecretStr | None = Field(
        None,
        description="Fernet key(s) sealing sender credentials, comma-separated: the first seals, all open"
        " (`keys rotate` re-seals with the first); embedded default: <data_dir>/credentials.key",
    )
    dispatch_lease_seconds: int = Field(
        600,
        ge=60,
        le=86_400,
        description="a step in flight this long (longer than any provider call) is dispatched again",
    )
    gmail_api_base_url: str = Field(
        "https://gmail.googleapis.com/",
        description="where the Gmail adapter sends (client_options.api_endpoint)",
    )
    gmail_token_uri: str = Field(
        "https://oauth2.googleapis.com/token",
        description="OAuth token endpoint for Gmail accounts whose credentials name no token_uri",
    )
    gmail_timeout: float = Field(30.0, gt=0, description="seconds one Gmail API call may take")
    gmail_reply_poll_seconds: float = Field(
        60.0, gt=0, description="seconds between two reads of the Gmail mailboxes for replies and bounces"
    )
    public_base_url: str | None = Field(
        None, description="the URL the service is reached at (unsubscribe links); default http://HOST:PORT"
    )
    unsubscribe_secret: SecretStr | None = Field(
        None,
        description="signs unsubscribe tokens; default: derived from CREDENTIALS_KEY, else <data_dir>/unsubscribe.key",
    )
    twilio_api_base_url: str = Field(
        "https://api.twilio.com", description="where the Twilio SDK's REST calls go (a fake in tests)"
    )
    twilio_timeout: float = Field(10.0, gt=0, description="seconds a Twilio REST call may take")
    admin_api_key: SecretStr | None = Field(
        None, description="the operators' key for /admin/v1 (Bearer); unset: no admin API at all"
    )
    rate_limit_basic_per_second: float = Field(
        20.0, gt=0, description="requests/s a basic brand's bucket refills at"
    )
    rate_limit_basic_burst: int = Field(40, ge=1, description="requests a basic brand may make at once")
    rate_limit_standard_per_second: float = Field(50.0, gt=0, description="the same for a standard brand")
    rate_limit_standard_burst: int = Field(100, ge=1)
    rate_limit_premium_per_second: float = Field(100.0, gt=0, description="the same for a premium brand")
    rate_limit_premium_burst: int = Field(200, ge=1)
    heavy_requests_per_brand: int = Field(
        2, ge=1, description="contact imports a brand may have in flight on one API process"
    )
    key_check_interval: float = Field(
        0.2, gt=0, le=0.5, description="seconds between an API process's polls for revoked keys"
    )
    personaliser: str | None = Field(None, description="`module:factory` of a model-backed personaliser")
    personaliser_timeout: float = Field(10.0, gt=0, description="seconds before the template text is used")

    @property
    def public_url(self) -> str:
        """PUBLIC_BASE_URL, or the address `serve` listens on, without a trailing slash."""
        return (self.public_base_url or f"http://{self.host}:{self.port}").rstrip("/")

    def missing_for_production(self) -> list[str]:
        """The settings a process against DATABASE_URL cannot go without: the keys that seal
        credentials and sign links, and the URL links and Twilio signatures are built on. Without
        DATABASE_URL (the embedded default) `serve` keeps generated keys under the data dir."""
        if self.database_url is None:
            return []
        given = {
            "CREDENTIALS_KEY": self.credentials_key,
            "UNSUBSCRIBE_SECRET": self.unsubscribe_secret,
            "PUBLIC_BASE_URL": self.public_base_url,
        }
        return [
            name
            for name, value in given.items()
            if not (value.get_secret_value() if isinstance(value, SecretStr) else value or "").strip()
        ]

    def environment(self) -> dict[str, str]:
        """These settings as the environment variables that give them back (for a child process)."""
        env = {}
        for name, value in self.model_dump().items():
            if value is None:
                continue
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            elif isinstance(value, bool):
                value = "true" if value else "false"
            env[name.upper()] = str(value)
        return env
