"""Configuration from environment variables, an optional `.env`, and an optional TOML file.

Precedence (highest first): init arguments, environment, `.env`, the TOML file named by
`ALLIANCE_CONFIG`. Secrets are `SecretStr` so they never print, and `describe_error` turns a
validation failure into one line per bad setting without echoing the offending value.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_API_BASE = "https://discord.com/api/v10"


class Settings(BaseSettings):
    """Everything an operator can set. Field names are the environment variable names."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        hide_input_in_errors=True,
    )

    discord_token: SecretStr | None = Field(
        default=None, description="Bot token. Without it, `python bot.py` starts the offline sandbox."
    )
    discord_api_base: str = Field(
        default=DEFAULT_API_BASE,
        description="Discord REST base URL; the gateway URL is taken from `GET {base}/gateway/bot`.",
    )
    database_url: SecretStr = Field(
        default=SecretStr("sqlite+aiosqlite:///./alliance.db"),
        description="SQLAlchemy URL: `sqlite+aiosqlite:///path` or `postgresql+asyncpg://…`.",
    )
    guild_ids: Annotated[tuple[int, ...], NoDecode] = Field(
        default=(), description="Comma-separated guild ids to sync commands to (instant); empty = global."
    )
    alliance_timezone: str = Field(default="Asia/Shanghai", description="IANA zone for business time.")
    log_level: str = Field(default="INFO", description="Python logging level.")
    holiday_country: str = Field(default="CN", description="Country whose public holidays pause the SLA clock.")
    takedown_rate_per_minute: int = Field(
        default=60, ge=1, le=10_000, description="Single filings per member per minute."
    )
    takedown_bulk_per_hour: int = Field(default=5, ge=1, le=1_000, description="Bulk CSV uploads per member per hour.")
    max_concurrent_commands: int = Field(
        default=25,
        ge=1,
        le=10_000,
        description="Slash commands run at once; more are refused at once with a 'busy' answer.",
    )
    phone_region: str = Field(default="CN", description="Region for phone numbers written without +country code.")
    intel_common_cap: int = Field(
        default=50, ge=2, le=100_000, description="A value in more reports than this stops linking them."
    )
    digest_grace_hours: float = Field(
        default=24, gt=0, le=24 * 14, description="A digest missed while down is posted late if less than this late."
    )
    counter_notice_days: int = Field(
        default=3, ge=1, le=30, description="Business days a filer has to answer a counter-notice."
    )

    @field_validator("discord_token", mode="before")
    @classmethod
    def _empty_token_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("discord_api_base")
    @classmethod
    def _check_api_base(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL such as https://discord.com/api/v10")
        return value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: SecretStr) -> SecretStr:
        url = value.get_secret_value().strip()
        problem = database_url_problem(url)
        if problem:
            raise ValueError(problem)
        return SecretStr(url)

    @field_validator("guild_ids", mode="before")
    @classmethod
    def _split_guild_ids(cls, value: Any) -> Any:
        if isinstance(value, str):
            parts = [part.strip() for part in value.split(",") if part.strip()]
            if not all(part.isdigit() for part in parts):
                raise ValueError("must be comma-separated numeric guild ids")
            return tuple(int(part) for part in parts)
        return value

    @field_validator("alliance_timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a directory or over-long name
            raise ValueError("must be an IANA time zone such as Asia/Shanghai") from None
        return value

    @field_validator("holiday_country")
    @classmethod
    def _check_holiday_country(cls, value: str) -> str:
        from bot.services.business_time import BusinessCalendar

        try:
            return BusinessCalendar(country=value).country
        except ValueError:
            raise ValueError("must be a country code the holidays package knows, such as CN, US or DE") from None

    @field_validator("phone_region")
    @classmethod
    def _check_phone_region(cls, value: str) -> str:
        import phonenumbers

        region = value.strip().upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError("must be a two-letter region phonenumbers knows, such as CN, HK or US")
        return region

    @field_validator("log_level")
    @classmethod
    def _check_log_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.alliance_timezone)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings, dotenv_settings]
        config_file = os.environ.get("ALLIANCE_CONFIG")
        if config_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config_file)))
        return tuple(sources)


ENCODE_HINT = "percent-encode special characters in the user name and password, e.g. @ as %40"


def database_url_problem(url: str) -> str | None:
    """What is wrong with a DATABASE_URL, in words that quote no part of it, or None.

    SQLAlchemy parses leniently: a password holding a raw `@` ends at that `@`, and the rest
    of it becomes the host (`alliance:p@ss@db` connects to host `ss@db`), so the operator would
    only hear of a DNS failure. `/ : ? #` in a password parse as meant and are accepted. The
    message never includes the URL or its pieces: any of them may hold the password.
    """
    if not url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
        return "must start with sqlite+aiosqlite:// or postgresql+asyncpg://"
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        return f"is not a valid URL (is the port a number?); {ENCODE_HINT}"
    if parsed.get_backend_name() == "sqlite":
        if parsed.host or parsed.port or parsed.username or parsed.password:
            return (
                "a SQLite URL names no host: three slashes before a relative path "
                "(sqlite+aiosqlite:///alliance.db), four before an absolute one"
            )
        return None
    for part, text in (("host", parsed.host), ("database name", parsed.database)):
        if text and "@" in text:
            return f"the {part} contains '@' (an '@' in the password?): {ENCODE_HINT}"
    return None


class ConfigurationError(Exception):
    """Start-up cannot go on; the message is one human line naming the setting."""


def load_settings(**overrides: Any) -> Settings:
    """Build the settings, turning every failure into a `ConfigurationError` without values."""
    config_file = os.environ.get("ALLIANCE_CONFIG")
    if config_file and not Path(config_file).is_file():
        raise ConfigurationError(f"ALLIANCE_CONFIG: no such file: {config_file}")
    try:
        return Settings(**overrides)
    except ValidationError as error:
        raise ConfigurationError(describe_error(error)) from None
    except (OSError, ValueError) as error:  # unreadable or malformed TOML / .env
        raise ConfigurationError(f"ALLIANCE_CONFIG: cannot read configuration: {type(error).__name__}") from None


def describe_error(error: ValidationError) -> str:
    """One line per bad setting, naming it by its environment variable, never echoing its value."""
    lines = []
    for item in error.errors(include_input=False, include_url=False):
        name = str(item["loc"][0]).upper() if item["loc"] else "configuration"
        message = str(item["msg"]).removeprefix("Value error, ")
        lines.append(f"{name}: {message}")
    return "Invalid configuration: " + "; ".join(lines)
