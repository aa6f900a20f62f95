"""Configuration from environment variables (and a .env file), validated at start.

This is the one place that reads the environment: `load_settings()` returns a `Settings` or
raises `ConfigError` whose `problems` hold one line per bad variable (the variable's name,
what is wrong with its value, and an example). knowledge/, scheduler/ and storage/ take
values (paths, tuning) from it and never read the environment themselves. The bot token is
a `SecretStr`, so printing or logging the settings never shows it.

The words of a problem line and each variable's example come from bot/config_texts.yaml
(read through the one message catalogue, knowledge/catalogue.py, only when a problem is
found); tests/test_config_texts.py checks every key used is there and every entry is used.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from knowledge.catalogue import Clinic
from knowledge.lazytexts import LazyTexts
from scheduler.clinic_hours import OnCall, OpeningHours, parse_closed_dates, parse_week

if TYPE_CHECKING:  # imported where used: reading the settings loads no dispatcher or storage
    from scheduler.alerts import AlertConfig
    from scheduler.dispatcher import DispatcherConfig

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///aftercare.db"
DEFAULT_BOT_API_URL = "https://api.telegram.org/bot"
_TOKEN = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
_SECRET = re.compile(r"^[A-Za-z0-9_-]{16,256}$")
# values left from an example file: refused for settings a patient reads
_PLACEHOLDER = re.compile(r"^(?:<.*>|\.\.\.|x+|tbc|tbd|todo|fixme|changeme|change me|"
                          r"example|your .*|clinic name|n/?a|none|null)$", re.IGNORECASE)
_USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,31}$")

TEXTS = Path(__file__).with_name("config_texts.yaml")  # what a problem line says
_LISTED = frozenset({"AFTERCARE_OPENING_HOURS", "AFTERCARE_CLOSED_DATES"})  # one line per item


class ConfigError(Exception):
    """Invalid configuration; `problems` has one readable line per bad variable."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class Settings(BaseSettings):
    """Everything the bot reads from its environment. Field aliases are the variable names."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8",
                                      extra="ignore", populate_by_name=True)

    telegram_bot_token: SecretStr | None = Field(None, alias="TELEGRAM_BOT_TOKEN")
    database_url: str = Field(DEFAULT_DATABASE_URL, alias="AFTERCARE_DATABASE_URL")
    bot_api_url: str = Field(DEFAULT_BOT_API_URL, alias="AFTERCARE_BOT_API_URL")
    staff_chat_id: int | None = Field(None, alias="AFTERCARE_STAFF_CHAT_ID")
    staff_ids: Annotated[frozenset[int], NoDecode] = Field(frozenset(),
                                                           alias="AFTERCARE_STAFF_IDS")
    timezone: str = Field("Europe/London", alias="AFTERCARE_TIMEZONE")
    webhook_url: str | None = Field(None, alias="AFTERCARE_WEBHOOK_URL")
    webhook_secret: SecretStr | None = Field(None, alias="AFTERCARE_WEBHOOK_SECRET")
    webhook_listen: str = Field("0.0.0.0", alias="AFTERCARE_WEBHOOK_LISTEN")
    webhook_port: int = Field(8443, alias="AFTERCARE_WEBHOOK_PORT", ge=1, le=65535)
    clinic_name: str = Field(Clinic().name, alias="AFTERCARE_CLINIC_NAME")
    clinic_contact: str = Field(Clinic().contact, alias="AFTERCARE_CLINIC_CONTACT")
    emergency_number: str = Field(Clinic().emergency, alias="AFTERCARE_EMERGENCY_NUMBER")
    invite_ttl_days: int = Field(14, alias="AFTERCARE_INVITE_TTL_DAYS", ge=1, le=365)
    bot_username: str | None = Field(None, alias="AFTERCARE_BOT_USERNAME")
    max_sends_per_second: float = Field(30, alias="AFTERCARE_MAX_SENDS_PER_SECOND", ge=0)
    escalation_emergency_minutes: int = Field(
        15, alias="AFTERCARE_ESCALATION_EMERGENCY_MINUTES", ge=1, le=24 * 60)
    escalation_urgent_minutes: int = Field(
        60, alias="AFTERCARE_ESCALATION_URGENT_MINUTES", ge=1, le=7 * 24 * 60)
    # after a red-flag alert, while its report is unresolved: how long the patient's next
    # messages keep the safety line (call the emergency number / contact the clinic today)
    # and are added to the report (bot/core/desk/patients.py `alert_tier`)
    alert_open_emergency_hours: int = Field(
        6, alias="AFTERCARE_ALERT_OPEN_EMERGENCY_HOURS", ge=1, le=72)
    alert_open_urgent_hours: int = Field(
        24, alias="AFTERCARE_ALERT_OPEN_URGENT_HOURS", ge=1, le=7 * 24)
    http_port: int = Field(8080, alias="AFTERCARE_HTTP_PORT", ge=0, le=65535)
    http_listen: str = Field("0.0.0.0", alias="AFTERCARE_HTTP_LISTEN")
    # /metrics needs "Authorization: Bearer <token>"; unset: served to loopback clients only
    metrics_token: SecretStr | None = Field(None, alias="AFTERCARE_METRICS_TOKEN")
    log_format: Literal["plain", "json"] = Field("plain", alias="AFTERCARE_LOG_FORMAT")
    retention_days: int | None = Field(None, alias="AFTERCARE_RETENTION_DAYS", ge=1)
    spool_path: str | None = Field(None, alias="AFTERCARE_SPOOL_PATH")  # see report_spool()
    # --- clinic hours: honest promises about when someone reads an alert ------------------
    opening_hours: str | None = Field(None, alias="AFTERCARE_OPENING_HOURS")
    closed_dates: Annotated[frozenset[date], NoDecode] = Field(frozenset(),
                                                             alias="AFTERCARE_CLOSED_DATES")
    out_of_hours_contact: str | None = Field(None, alias="AFTERCARE_OUT_OF_HOURS_CONTACT")
    oncall_ids: Annotated[frozenset[int], NoDecode] = Field(frozenset(),
                                                            alias="AFTERCARE_ONCALL_IDS")
    urgent_reply_target_minutes: int | None = Field(
        None, alias="AFTERCARE_URGENT_REPLY_TARGET_MINUTES", ge=1, le=7 * 24 * 60)
    # the clinic desk on the web (bot/web/): where `aftercare desk` listens, its public URL
    # (https there makes the session cookie Secure) and the cookie-signing key (default:
    # derived from the bot token, so every desk replica shares it)
    desk_host: str = Field("127.0.0.1", alias="AFTERCARE_DESK_HOST")
    desk_port: int = Field(8090, alias="AFTERCARE_DESK_PORT", ge=1, le=65535)
    desk_url: str | None = Field(None, alias="AFTERCARE_DESK_URL")
    desk_secret: SecretStr | None = Field(None, alias="AFTERCARE_DESK_SECRET")

    # --- data files and check-in tuning ------------------------------------------------
    kb_path: Path | None = Field(None, alias="AFTERCARE_KB_PATH")
    careplan_path: Path | None = Field(None, alias="AFTERCARE_CAREPLAN_PATH")
    messages_path: Path | None = Field(None, alias="AFTERCARE_MESSAGES_PATH")
    checkin_rate: float = Field(30.0, alias="AFTERCARE_CHECKIN_RATE", ge=0)
    checkin_per_chat_seconds: float = Field(1.0, alias="AFTERCARE_CHECKIN_PER_CHAT_SECONDS",
                                            ge=0)
    checkin_batch: int = Field(30, alias="AFTERCARE_CHECKIN_BATCH", ge=1, le=10_000)
    checkin_lease_seconds: float = Field(120.0, alias="AFTERCARE_CHECKIN_LEASE_SECONDS", gt=0)
    # how often the dispatcher looks for due check-ins (bot/telegram/app.py schedule_checkins)
    checkin_tick_seconds: float = Field(5.0, alias="AFTERCARE_CHECKIN_TICK_SECONDS", gt=0,
                                        le=3600)
    checkin_max_attempts: int = Field(5, alias="AFTERCARE_CHECKIN_MAX_ATTEMPTS", ge=1, le=100)
    checkin_backoff_seconds: float = Field(30.0, alias="AFTERCARE_CHECKIN_BACKOFF_SECONDS",
                                           gt=0)
    # --- the alert sender's tuning (scheduler/alerts.py) ---------------------------------
    alert_poll_seconds: float = Field(1.0, alias="AFTERCARE_ALERT_POLL_SECONDS", gt=0)
    alert_backoff_seconds: float = Field(2.0, alias="AFTERCARE_ALERT_BACKOFF_SECONDS", gt=0)
    alert_backoff_cap_seconds: float = Field(120.0, alias="AFTERCARE_ALERT_BACKOFF_CAP_SECONDS",
                                             gt=0)
    alert_lease_seconds: float = Field(60.0, alias="AFTERCARE_ALERT_LEASE_SECONDS", gt=0)
    alert_read_timeout_seconds: float | None = Field(
        None, alias="AFTERCARE_ALERT_READ_TIMEOUT_SECONDS", gt=0)
    # --- the desk outbox's sender and the spool's replayer (bot/telegram/) ---------------
    desk_outbox_seconds: float = Field(1.0, alias="AFTERCARE_DESK_OUTBOX_SECONDS", gt=0,
                                       le=3600)
    desk_read_timeout_seconds: float | None = Field(
        None, alias="AFTERCARE_DESK_READ_TIMEOUT_SECONDS", gt=0)
    spool_replay_seconds: float = Field(2.0, alias="AFTERCARE_SPOOL_REPLAY_SECONDS", gt=0,
                                        le=3600)
    # start-up: the first wait after the Bot API or the database did not answer (then twice
    # as long each time, up to 60 s; a wait Telegram asks for is kept as asked)
    startup_backoff_seconds: float = Field(1.0, alias="AFTERCARE_STARTUP_BACKOFF_SECONDS",
                                           gt=0, le=60)
    # the advisor warmed up in the background once the process answers (bot/warmup.py:
    # every triage pattern compiled, about 1.4 s of CPU); off, each message builds what it
    # needs when it first needs it (the same answers)
    warm_up: bool = Field(True, alias="AFTERCARE_WARM_UP")
    polling_lease_seconds: float = Field(15.0, alias="AFTERCARE_POLLING_LEASE_SECONDS",
                                         ge=0.5, le=300)
    polling_give_up_seconds: float = Field(60.0, alias="AFTERCARE_POLLING_GIVE_UP_SECONDS",
                                           ge=1, le=3600)
    polling_backoff_max_seconds: float = Field(
        30.0, alias="AFTERCARE_POLLING_BACKOFF_MAX_SECONDS", ge=1, le=600)
    # getUpdates: how long Telegram may hold a poll open (long polling), and how much longer
    # than that the client waits for its answer before calling the poll hung (TimedOut)
    polling_timeout_seconds: int = Field(10, alias="AFTERCARE_POLLING_TIMEOUT_SECONDS", ge=0,
                                         le=60)
    polling_read_timeout_seconds: float = Field(
        5.0, alias="AFTERCARE_POLLING_READ_TIMEOUT_SECONDS", gt=0, le=600)

    @field_validator("telegram_bot_token", "webhook_secret", "webhook_url", "bot_username",
                     "staff_chat_id", "retention_days", "opening_hours", "out_of_hours_contact",
                     "urgent_reply_target_minutes", "desk_url", "desk_secret", "kb_path",
                     "careplan_path", "messages_path", "alert_read_timeout_seconds",
                     "desk_read_timeout_seconds",
                     "metrics_token",
                     mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("kb_path", "careplan_path", "messages_path")
    @classmethod
    def _expand_home(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None

    @field_validator("clinic_name", "emergency_number")
    @classmethod
    def _shown_to_patients(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError(_text("problem.empty_for_patients"))
        if _PLACEHOLDER.match(value):
            raise ValueError(_text("problem.placeholder", value=value))
        return value

    @field_validator("telegram_bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _TOKEN.match(value.get_secret_value().strip()):
            raise ValueError(_text("problem.not_a_token"))
        return SecretStr(value.get_secret_value().strip()) if value is not None else None

    @field_validator("staff_ids", "oncall_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p.strip() for p in value.split(",") if p.strip()]
            bad = [p for p in parts if not re.fullmatch(r"-?\d+", p)]
            if bad:
                raise ValueError(_text("problem.not_user_ids", ids=", ".join(bad)))
            return frozenset(int(p) for p in parts)
        return value

    @field_validator("opening_hours")
    @classmethod
    def _hours_shape(cls, value: str | None) -> str | None:
        if value is not None:
            parse_week(value)  # HoursError (a ValueError): one line per mistake
            return value.strip()
        return value

    @field_validator("closed_dates", mode="before")
    @classmethod
    def _split_dates(cls, value: object) -> object:
        if isinstance(value, str):
            return parse_closed_dates(value)
        return value

    @field_validator("out_of_hours_contact")
    @classmethod
    def _contact_shape(cls, value: str | None) -> str | None:
        return value.strip() if value is not None else None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(_text("problem.unknown_zone", value=value)) from None
        return value

    @field_validator("bot_api_url", "webhook_url", "desk_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(_text("problem.not_http_url", value=value))
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            backend = make_url(value).get_backend_name()
        except ArgumentError:
            raise ValueError(_text("problem.not_database_url", value=value)) from None
        if backend not in ("sqlite", "postgresql"):
            raise ValueError(_text("problem.unsupported_backend", backend=backend))
        return value

    @field_validator("webhook_secret", "metrics_token")
    @classmethod
    def _secret_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _SECRET.match(value.get_secret_value()):
            raise ValueError(_text("problem.secret_shape"))
        return value

    @field_validator("bot_username", mode="before")
    @classmethod
    def _strip_at(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip().removeprefix("@")
            if value and not _USERNAME.match(value):
                raise ValueError(_text("problem.not_a_username", value=value))
        return value

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> Settings:
        if self.webhook_url and self.webhook_secret is None:
            raise ValueError(_text("problem.webhook_needs_secret"))
        return self

    @model_validator(mode="after")
    def _oncall_needs_hours_and_staff(self) -> Settings:
        if self.oncall_ids and not self.opening_hours:
            raise ValueError(_text("problem.oncall_needs_hours"))
        strangers = sorted(self.oncall_ids - self.staff_ids)
        if strangers:
            raise ValueError(_text("problem.oncall_not_staff",
                                   ids=", ".join(map(str, strangers))))
        return self

    # --- derived values ---------------------------------------------------------------
    @property
    def token(self) -> str | None:
        """The bot token in clear (only for the Telegram client; never log it)."""
        return self.telegram_bot_token.get_secret_value() if self.telegram_bot_token else None

    def report_spool(self) -> str:
        """Where red-flag reports wait while the database is down (storage/spool.py):
        AFTERCARE_SPOOL_PATH, else next to a SQLite database file, else in the working
        directory."""
        if self.spool_path:
            return self.spool_path
        from sqlalchemy.engine import make_url

        url = make_url(self.database_url)
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            return f"{url.database}.spool"
        return "aftercare-reports.spool"

    @property
    def tz(self) -> ZoneInfo:
        """The clinic's default time zone."""
        return ZoneInfo(self.timezone)

    @property
    def base_file_url(self) -> str:
        """File download base matching `bot_api_url` (``.../bot`` -> ``.../file/bot``)."""
        root = self.bot_api_url.rstrip("/")
        if root.endswith("/bot"):
            return root[: -len("/bot")] + "/file/bot"
        return root + "/file/bot"

    @property
    def invite_ttl(self) -> timedelta:
        """How long an invite link stays valid."""
        return timedelta(days=self.invite_ttl_days)

    @property
    def webhook_path(self) -> str:
        """The path part of the webhook URL, where the local webhook server listens."""
        return urlsplit(self.webhook_url or "").path.lstrip("/")

    def clinic(self) -> Clinic:
        """The clinic details the advice mentions."""
        return Clinic(name=self.clinic_name, contact=self.clinic_contact,
                      emergency=self.emergency_number)

    def hours(self) -> OpeningHours | None:
        """The clinic's opening hours in its time zone (None when not configured: then no
        reply names an opening time and nothing is sent to on-call staff)."""
        if not self.opening_hours:
            return None
        return OpeningHours(parse_week(self.opening_hours), self.tz, self.closed_dates)

    def oncall(self) -> OnCall:
        """Who is on call outside opening hours (AFTERCARE_ONCALL_IDS; nobody by default)."""
        return OnCall(self.hours(), self.oncall_ids)

    def is_staff(self, user_id: int) -> bool:
        """True for a Telegram user listed in AFTERCARE_STAFF_IDS."""
        return user_id in self.staff_ids

    def dispatcher_config(self) -> DispatcherConfig:
        """The check-in dispatcher's tuning (AFTERCARE_CHECKIN_*)."""
        from scheduler.dispatcher import DispatcherConfig

        return DispatcherConfig(
            rate_per_second=self.checkin_rate, per_chat_interval=self.checkin_per_chat_seconds,
            batch_size=self.checkin_batch, max_attempts=self.checkin_max_attempts,
            lease=timedelta(seconds=self.checkin_lease_seconds),
            backoff_base=timedelta(seconds=self.checkin_backoff_seconds))

    def alert_config(self) -> AlertConfig:
        """The alert sender's tuning (AFTERCARE_ALERT_*)."""
        from scheduler.alerts import AlertConfig

        return AlertConfig(
            poll_interval=self.alert_poll_seconds,
            backoff_base=timedelta(seconds=self.alert_backoff_seconds),
            backoff_cap=timedelta(seconds=self.alert_backoff_cap_seconds),
            lease=timedelta(seconds=self.alert_lease_seconds),
            read_timeout=self.alert_read_timeout_seconds)


_TEXTS = LazyTexts(TEXTS)  # read when the first problem is found
_texts = _TEXTS.catalogue
_text = _TEXTS.text


def _example(name: str) -> str:
    """" (example: ...)" for a variable that has an example line, else nothing."""
    example = _texts().get(f"examples.{name}")
    return _text("line.example", example=example) if example else ""


def _describe(error: dict[str, Any]) -> list[str]:
    """Lines for one pydantic error: variable, problem, example (one line per mistake when
    the value lists several, as opening hours and closed dates may)."""
    loc = [str(part) for part in error.get("loc", ()) if part != "__root__"]
    message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    if loc and loc[0] in _LISTED:
        return [_text("line.named", name=loc[0], problem=line) + _example(loc[0])
                for line in message.splitlines()]
    return [_describe_one(loc, message, error)]


def _describe_one(loc: list[str], message: str, error: dict[str, Any]) -> str:
    """One line for one pydantic error: variable, problem, example."""
    if not loc:  # model-level rule; the message names the variables
        return message + _example(message.split(" ", 1)[0])
    name = loc[0]
    value = error.get("input")
    secret = name in ("TELEGRAM_BOT_TOKEN", "AFTERCARE_WEBHOOK_SECRET", "AFTERCARE_DESK_SECRET",
                      "AFTERCARE_METRICS_TOKEN")
    if isinstance(value, str | int) and not secret:
        problem = _text("line.with_value", name=name, value=value, problem=message)
    else:
        problem = _text("line.named", name=name, problem=message)
    return problem + _example(name)


def load_settings(env_file: str | None = ".env", **overrides: Any) -> Settings:
    """Read and validate the settings; raise `ConfigError` with one line per bad variable."""
    try:
        return Settings(_env_file=env_file, **overrides)  # type: ignore[call-arg]
    except ValidationError as exc:
        raise ConfigError([line for e in exc.errors() for line in _describe(dict(e))]) from None

