"""Configuration: environment, TOML file, and one clear line for a bad setting."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from bot.cli import secrets_of
from bot.logs import RedactSecrets
from bot.settings import DEFAULT_API_BASE, ConfigurationError, Settings, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in [*Settings.model_fields, "alliance_config"]:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_defaults() -> None:
    settings = load_settings()
    assert settings.discord_token is None
    assert settings.discord_api_base == DEFAULT_API_BASE
    assert settings.database_url.get_secret_value() == "sqlite+aiosqlite:///./alliance.db"
    assert settings.guild_ids == ()
    assert settings.alliance_timezone == "Asia/Shanghai"


def test_environment_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "abc.def.ghi")
    monkeypatch.setenv("DISCORD_API_BASE", "http://proxy.internal:8080/api/v10/")
    monkeypatch.setenv("GUILD_IDS", " 111, 222 ,")
    monkeypatch.setenv("LOG_LEVEL", "debug")
    settings = load_settings()
    assert settings.discord_token is not None and settings.discord_token.get_secret_value() == "abc.def.ghi"
    assert "abc.def.ghi" not in repr(settings)
    assert settings.discord_api_base == "http://proxy.internal:8080/api/v10"
    assert settings.guild_ids == (111, 222)
    assert settings.log_level == "DEBUG"


def test_blank_token_means_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "   ")
    assert load_settings().discord_token is None


def test_toml_file_with_environment_taking_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "alliance.toml"
    config.write_text('alliance_timezone = "Europe/Paris"\nguild_ids = [5, 6]\nlog_level = "WARNING"\n')
    monkeypatch.setenv("ALLIANCE_CONFIG", str(config))
    monkeypatch.setenv("LOG_LEVEL", "ERROR")
    settings = load_settings()
    assert settings.alliance_timezone == "Europe/Paris"
    assert settings.guild_ids == (5, 6)
    assert settings.log_level == "ERROR"


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("DATABASE_URL", "mysql://root:hunter2@db/alliance", "DATABASE_URL: must start with"),
        ("GUILD_IDS", "12,abc", "GUILD_IDS: must be comma-separated numeric guild ids"),
        ("ALLIANCE_TIMEZONE", "Mars/Olympus", "ALLIANCE_TIMEZONE: must be an IANA time zone"),
        ("DISCORD_API_BASE", "ftp://proxy.internal", "DISCORD_API_BASE: must be an http(s) URL"),
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL: must be one of"),
        ("HOLIDAY_COUNTRY", "Atlantis", "HOLIDAY_COUNTRY: must be a country code"),
        ("PHONE_REGION", "XX", "PHONE_REGION: must be a two-letter region"),
        ("TAKEDOWN_RATE_PER_MINUTE", "0", "TAKEDOWN_RATE_PER_MINUTE: Input should be greater than or equal to 1"),
    ],
)
def test_invalid_setting_is_one_line_naming_it_without_its_value(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError) as raised:
        load_settings()
    message = str(raised.value)
    assert expected in message
    assert "\n" not in message
    assert value not in message


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql+asyncpg://alliance:s3kr1t@Hunter2@db.example/alliance", "the host contains '@'"),
        ("postgresql+asyncpg://alliance:s3kr1t@Hunter2@db.example:5432/alliance", "the host contains '@'"),
        ("postgresql+asyncpg://alliance:s3kr1t@Hunter2/x@db.example/alliance", "the database name contains '@'"),
        ("postgresql+asyncpg://alliance:s3kr1t@Hunter2:x@db.example/alliance", "is not a valid URL"),
        ("postgresql+asyncpg://alliance:s3kr1tHunter2@db.example:port/alliance", "is not a valid URL"),
        ("sqlite+aiosqlite://alliance:s3kr1tHunter2@alliance.db", "a SQLite URL names no host"),
        ("postgres://alliance:s3kr1tHunter2@db.example/alliance", "must start with"),
    ],
)
def test_malformed_database_url_says_what_is_wrong_without_the_password(
    monkeypatch: pytest.MonkeyPatch, url: str, expected: str
) -> None:
    """An unescaped '@' in the password moves the rest of it into the host: without this check
    the operator would hear only of a failed DNS look-up, for a host named after the password."""
    monkeypatch.setenv("DATABASE_URL", url)
    with pytest.raises(ConfigurationError) as raised:
        load_settings()
    message = str(raised.value)
    assert f"DATABASE_URL: {expected}" in message
    assert "\n" not in message
    assert "s3kr1t" not in message and "Hunter2" not in message
    if "'@'" in expected or "valid URL" in expected:
        assert "percent-encode" in message and "%40" in message


@pytest.mark.parametrize(
    ("url", "password"),
    [
        ("postgresql+asyncpg://alliance:p%40ss%2Fw0rd@db.example/alliance", "p@ss/w0rd"),
        ("postgresql+asyncpg://alliance:p/s:s?w#rd@db.example:5432/alliance", "p/s:s?w#rd"),
        ("postgresql+asyncpg://user@server:pw@db.example/alliance", "pw"),
        ("postgresql+asyncpg://alliance:pw@/alliance?host=/run/postgresql", "pw"),
        ("sqlite+aiosqlite:///relative.db", None),
        ("sqlite+aiosqlite:////var/lib/alliance/alliance.db", None),
        ("sqlite+aiosqlite://", None),
    ],
)
def test_database_urls_that_parse_as_meant_are_accepted(url: str, password: str | None) -> None:
    """Only an '@' breaks SQLAlchemy's parse of a password; '/ : ? #' are read as written."""
    settings = load_settings(database_url=url)
    assert make_url(settings.database_url.get_secret_value()).password == password


def test_missing_config_file_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ALLIANCE_CONFIG", str(tmp_path / "nope.toml"))
    with pytest.raises(ConfigurationError, match="ALLIANCE_CONFIG: no such file"):
        load_settings()


def test_malformed_toml_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("log_level = \n")
    monkeypatch.setenv("ALLIANCE_CONFIG", str(config))
    with pytest.raises(ConfigurationError, match="ALLIANCE_CONFIG"):
        load_settings()


def test_logs_mask_the_password_also_as_written_in_the_url() -> None:
    """Driver errors quote DATABASE_URL, where the password is percent-encoded."""
    settings = load_settings(database_url="postgresql+asyncpg://u:p%40ss%2Fw0rd@h/db", discord_token="tok.en.value")
    record = logging.LogRecord(
        "db", logging.ERROR, __file__, 1, "failed on %s (%s, %s)", (settings.database_url.get_secret_value(),
        "p@ss/w0rd", "tok.en.value"), None,
    )  # fmt: skip
    RedactSecrets(secrets_of(settings)).filter(record)
    assert record.getMessage() == "failed on postgresql+asyncpg://u:***@h/db (***, ***)"
