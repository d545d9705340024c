"""What every step needs, built once per process from the Settings: database URL, blob
store, fetcher, and the current ruleset (reloaded when its files change, so admins'
edits reach running workers without a restart)."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

from config.settings import Settings, get_settings
from documents.fetch import Fetcher
from models.types import on_day
from notifications.outbox import set_outbox_dir
from worker.errors import RulesUnavailable

log = logging.getLogger(__name__)


class BlobStore:
    """Content-addressed files: <root>/ab/cd/<sha256>. Writing the same bytes twice is a no-op."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        target = self.path(sha)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(".tmp")
            tmp.write_bytes(data)
            tmp.replace(target)  # atomic: a reader never sees half a document
        return sha

    def get(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()


@dataclass
class RulesCache:
    directory: Path
    fingerprint: str = ""
    ruleset: object = None
    error: str = ""

    def _fingerprint(self) -> str:
        files = sorted(self.directory.rglob("*.y*ml")) if self.directory.is_dir() else [self.directory]
        parts = [f"{p}:{p.stat().st_mtime_ns}:{p.stat().st_size}" for p in files if p.exists()]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()

    def current(self):
        from rules import RuleFileError, load_ruleset

        fingerprint = self._fingerprint()
        if fingerprint != self.fingerprint:
            self.fingerprint = fingerprint
            try:
                self.ruleset, self.error = load_ruleset(self.directory), ""
                log.info("rules loaded from %s (version %s)", self.directory, self.ruleset.version)
            except RuleFileError as exc:
                # Keep evaluating with the last good rules; the error shows in `status`.
                self.error = str(exc)
                log.error("rules in %s are invalid, keeping the previous ones:\n%s", self.directory, exc.log_text())
            except Exception as exc:  # noqa: BLE001 - never fail a task over it, never keep quiet about it
                self.error = f"rules in {self.directory} could not be loaded: {type(exc).__name__}: {exc}"
                log.exception("rules in %s could not be loaded, keeping the previous ones", self.directory)
        if self.ruleset is None:
            raise RulesUnavailable(self.error or f"no rules found in {self.directory}")
        return self.ruleset


@dataclass
class Runtime:
    settings: Settings
    db_url: str = ""
    blobs: BlobStore = None  # type: ignore[assignment]
    rules: RulesCache = None  # type: ignore[assignment]
    _fetcher: Fetcher | None = field(default=None, repr=False)

    def __post_init__(self):
        self.db_url = self.settings.db_url
        self.blobs = BlobStore(self.settings.blobs)
        self.rules = RulesCache(Path(self.settings.rules_dir))
        set_outbox_dir(self.settings.outbox, self.now)

    @property
    def fetcher(self) -> Fetcher:
        if self._fetcher is None:
            s = self.settings
            self._fetcher = Fetcher(user_agent=s.user_agent, timeout=s.fetch_timeout, max_bytes=s.fetch_max_bytes,
                                    allow_private=s.allow_private_hosts)
        return self._fetcher

    def today(self) -> date:
        return self.settings.reference_date()

    def now(self) -> datetime:
        """Now, on the reference date: with a pinned date (demo, tests) case times and digest
        periods stay on the same clock as deadlines."""
        real = datetime.now(timezone.utc)
        return on_day(self.today(), real) if self.settings.today else real


_runtime: Runtime | None = None


def get_runtime() -> Runtime:
    global _runtime
    if _runtime is None:
        _runtime = Runtime(get_settings())
    return _runtime


def set_runtime(runtime: Runtime | None) -> None:
    global _runtime
    _runtime = runtime
