"""One Settings object, read once at start-up from the environment (prefix NIANBAO_).

Invalid values fail here, at start, with a message naming the variable: never later in a worker.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class SettingsError(Exception):
    """The environment holds an invalid NIANBAO_ value."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NIANBAO_", extra="ignore")

    home: Path = Field(Path("var"), description="Where the embedded default keeps its state.")
    database_url: str = Field("", description="SQLAlchemy URL; default: SQLite file under home.")
    broker_url: str = Field("", description="Celery broker (redis://…); unset = run tasks in-process.")
    rules_dir: Path = Field(Path(__file__).resolve().parent.parent / "rules" / "library")
    agencies_file: Path = Field(Path("agencies.yaml"))
    blob_dir: Path | None = Field(None, description="Content-addressed document store; default home/blobs.")
    outbox_dir: Path | None = Field(None, description="Where outbox:// notices are written; default home/outbox.")
    today: date | None = Field(None, description="Pretend today is this date (demo, tests).")
    user_agent: str = "nianbao/0.1 (+compliance monitor of GOI annual reports)"
    fetch_timeout: float = Field(20.0, gt=0, le=300)
    fetch_max_bytes: int = Field(50 * 1024 * 1024, gt=1024)
    allow_private_hosts: bool = Field(False, description="Allow fetching loopback/private addresses (demo, tests).")
    poll_interval_minutes: int = Field(360, ge=1, description="Minutes between polls outside the dense windows.")
    poll_dense_minutes: int = Field(60, ge=1, description="Minutes between polls in the weeks around the deadlines.")
    poll_dense_windows: str = Field("01-10..02-15,03-10..04-15", description="MM-DD..MM-DD ranges polled densely.")
    poll_jitter: float = Field(0.2, ge=0, le=0.5, description="Each poll delay is spread by ± this fraction.")
    poll_batch_size: int = Field(500, ge=1, le=5000, description="Sources per poll task (tasks stay coarse).")
    poll_concurrency: int = Field(50, ge=1, le=1000, description="Concurrent requests of one poll task.")
    poll_per_host: int = Field(2, ge=1, le=50, description="Concurrent requests to one host.")
    poll_host_rate: float = Field(4.0, ge=0, description="Requests a second to one host (0: no limit).")
    fetch_retries: int = Field(2, ge=0, le=10, description="Quick retries of a transient fetch error in a poll.")
    fetch_total_timeout: float = Field(120.0, gt=0, le=3600, description="Cap on one fetch, slow drips included.")
    breaker_failures: int = Field(5, ge=1, description="Failed polls in a row before a site is unreachable.")
    breaker_max_backoff_hours: int = Field(24, ge=1, description="Longest wait between polls of an unreachable site.")
    broker_key_prefix: str = Field("", description="Prefix for every broker key (several deployments, one Redis).")
    visibility_timeout: int = Field(3600, ge=1, description="Seconds before an unacked task is redelivered.")
    templates_dir: Path | None = Field(None, description="Admins' notice templates, searched before the shipped ones.")
    reminder_days: int = Field(3, ge=0, le=60, description="Remind an agency this many working days before its date.")
    digest_days: int = Field(7, ge=1, le=92, description="Days between two digests to the office.")
    case_min_severity: str = Field("warning", pattern="^(info|warning|error)$",
                                   description="Findings at least this severe become deficiencies an agency must "
                                               "correct; milder ones stay in the evaluation (score, digest counts).")
    notify_years_back: int = Field(0, ge=0, le=10, description="Pursue reports this many years before the "
                                   "current reporting year too (0: only the current year's reports).")
    sending_stale_seconds: int = Field(600, ge=1, description="A notice claimed this long ago without an outcome "
                                       "is marked unknown (its worker died mid-send).")
    correction_days: int = Field(15, ge=1, le=120, description="Working days an agency gets to correct.")
    ocr: bool = Field(True, description="Read scans (PDFs without a text layer, images) by OCR on the ocr queue.")
    ocr_max_pages: int = Field(40, ge=1, le=1000, description="Pages of a scan read by OCR; a longer one is too_large.")
    ocr_max_pixels: int = Field(40_000_000, ge=1_000_000, description="Pixels of one image or rendered page; "
                                "a larger one is too_large, judged from its header before it is decoded.")
    ocr_page_seconds: int = Field(60, ge=5, le=3600, description="CPU seconds OCR may spend on one page "
                                  "(a page takes 5-25; four times as long waiting for the CPU also ends it).")
    # The reconciler (worker/reconciler.py): work that has waited longer than its step's lease is
    # handed out again, at most max_attempts times, then ends failed (an admin notice, `nianbao retry`).
    reconcile_seconds: float = Field(60.0, gt=0, le=3600, description="Seconds between two reconciler sweeps.")
    lease_poll: int = Field(600, ge=1, description="Seconds a claimed source may wait for its poll (longer than a "
                            "poll batch takes).")
    lease_fetch: int = Field(600, ge=1, description="Seconds a discovered report may wait for its fetch.")
    lease_parse: int = Field(300, ge=1, description="Seconds a fetched document may wait to be read.")
    lease_evaluate: int = Field(300, ge=1, description="Seconds a read document may wait to be scored.")
    lease_plan: int = Field(300, ge=1, description="Seconds an evaluation may wait for its notices to be planned.")
    lease_ocr: int = Field(3600, ge=1, description="Seconds a scan may wait for OCR (longer than OCR may take).")
    lease_deliver: int = Field(300, ge=1, description="Seconds a due notice may wait to be handed to delivery.")
    max_attempts: int = Field(5, ge=1, le=100, description="Times the reconciler hands a step out again "
                              "before the work is marked failed.")
    notice_max_attempts: int = Field(12, ge=1, le=100, description="Deliveries of one notice (30 s doubling, "
                                     "capped at an hour: about six hours at 12) before it is marked failed.")
    reconcile_batch: int = Field(5000, ge=1, description="Most items of one step handed out by one sweep.")

    def lease(self, step: str) -> int:
        return getattr(self, f"lease_{step}")

    @field_validator("poll_dense_windows")
    @classmethod
    def _windows(cls, value: str) -> str:
        from config.polling import parse_windows

        parse_windows(value)
        return value

    def polling_policy(self):
        from config.polling import PollingPolicy, parse_windows

        return PollingPolicy(sparse_minutes=self.poll_interval_minutes, dense_minutes=self.poll_dense_minutes,
                             windows=parse_windows(self.poll_dense_windows), jitter=self.poll_jitter)

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if value and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("must be a sqlite:/// or postgresql+psycopg:// URL")
        if value.startswith("postgresql://") or value.startswith("postgres://"):
            # psycopg 3 is the driver we ship; the bare scheme would ask for psycopg2.
            value = "postgresql+psycopg://" + value.split("://", 1)[1]
        return value

    @field_validator("broker_url")
    @classmethod
    def _known_broker(cls, value: str) -> str:
        if value and not value.startswith(("redis://", "rediss://", "amqp://", "memory://")):
            raise ValueError("must be a redis://, rediss:// or amqp:// URL (or empty for in-process)")
        return value

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.home / 'nianbao.db').resolve()}"

    @property
    def blobs(self) -> Path:
        return self.blob_dir or self.home / "blobs"

    @property
    def outbox(self) -> Path:
        return self.outbox_dir or self.home / "outbox"

    @property
    def embedded(self) -> bool:
        return not self.broker_url

    def reference_date(self) -> date:
        return self.today or date.today()


def load_settings() -> Settings:
    """Read the environment; raise SettingsError with one line per bad variable."""
    try:
        return Settings()
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            name = "NIANBAO_" + str(err["loc"][0]).upper() if err["loc"] else "NIANBAO_?"
            lines.append(f"{name}: {err['msg']} (got {err.get('input')!r})")
        raise SettingsError("invalid settings:\n  " + "\n  ".join(lines)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
