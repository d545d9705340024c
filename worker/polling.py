"""Steps poll_batch (poll_source) and fetch_report: agency pages → Report rows → Snapshots.

A poll task takes a batch of sources (tasks stay coarse: Celery's ~1.3 ms a task is a small
share of a batch) and runs in three phases so no transaction stays open over the network:
read the batch's rows; fetch every page concurrently (aiohttp, within per-host limits:
``documents.afetch``), following pagination and one level of article pages for candidates
not seen before; then write the outcome of the whole batch in one transaction.

Conditional GETs keep unchanged pages cheap (a 304 costs no parsing); a document whose hash
we hold makes no new snapshot, and a new hash on a report we had already fetched is an edit
after publication (``Report.edit_count``, ``edited_at``, a ``silent_edit`` PollEvent). A site
failing ``breaker_failures`` polls in a row is unreachable: one PollEvent per outage, and its
polls back off. Running a batch twice changes nothing: reports are keyed by (agency, url), a
report found but not fetched yet is handed to fetch_report again by the next poll of its
source, even when that poll gets a 304.
"""

from __future__ import annotations

import asyncio
import atexit
import hashlib
import logging
import os
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from types import SimpleNamespace
from typing import NamedTuple
from urllib.parse import urlsplit

from sqlalchemy import and_, insert, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select, update

from documents.afetch import AsyncFetcher
from documents.discovery import Candidate, Resolution, parse_listing, read_article, resolve
from documents.errors import FetchError
from documents.feeds import looks_like_feed, parse_feed
from documents.fetch import FetchResult
from documents.listing import decode_page
from models import Agency, PollEvent, Report, Snapshot, Source
from models.bulk import insert_new, update_by_id
from models.db import session_scope
from models.types import utcnow
from notifications.dates import cn_date, cn_datetime
from notifications.labels import fetch_reason
from worker import expectations
from worker.errors import TransientError
from worker.runtime import Runtime
from worker.steps import Next, enter, owed

log = logging.getLogger(__name__)
MAX_FOLLOW = 20  # article pages followed per source and poll; the rest wait for the next poll
MAX_PAGES = 5  # listing pages read when the first one changed
RECHECK_YEARS = 2  # known reports of the last N report years are re-checked for edits
UNKNOWN_YEAR_LIMIT = 2000


# ---------------------------------------------------------------- the event loop and client


_loop: asyncio.AbstractEventLoop | None = None
_fetchers: dict[tuple, AsyncFetcher] = {}
_pid = 0


def run_async(make_coro):
    """One event loop per process (a Celery prefork child builds its own after the fork). The
    coroutine is made once the loop is ready, so the clients it uses belong to that loop."""
    global _loop, _pid
    if _pid != os.getpid() or _loop is None or _loop.is_closed():
        _loop, _pid = asyncio.new_event_loop(), os.getpid()
        _fetchers.clear()
    return _loop.run_until_complete(make_coro())


@atexit.register
def _close_sessions() -> None:
    if _loop is not None and not _loop.is_closed() and _pid == os.getpid():
        for fetcher in list(_fetchers.values()):
            _loop.run_until_complete(fetcher.close())
        _fetchers.clear()


def async_fetcher(rt: Runtime) -> AsyncFetcher:
    s = rt.settings
    key = (s.user_agent, s.fetch_timeout, s.fetch_total_timeout, s.fetch_max_bytes, s.allow_private_hosts,
           s.poll_concurrency, s.poll_per_host, s.poll_host_rate, s.fetch_retries)
    if key not in _fetchers:
        _fetchers[key] = AsyncFetcher(user_agent=s.user_agent, timeout=s.fetch_timeout,
                                      total_timeout=s.fetch_total_timeout, max_bytes=s.fetch_max_bytes,
                                      allow_private=s.allow_private_hosts, concurrency=s.poll_concurrency,
                                      per_host=s.poll_per_host, host_rate=s.poll_host_rate,
                                      host_burst=max(1, s.poll_per_host * 2), retries=s.fetch_retries,
                                      backoff=0.5)
    return _fetchers[key]


# ---------------------------------------------------------------- phase 1: what to poll


@dataclass
class Plan:
    source_id: int
    agency_id: int
    url: str
    kind: str
    etag: str | None
    last_modified: str | None
    allowed_hosts: tuple[str, ...]
    known: set[str]  # report and article URLs already recorded for this agency
    reports: list[tuple] = field(default_factory=list)  # (id, status, year, next_check_at, via) of its reports
    polling: dict | None = None  # the agency's overrides
    healthy: bool = True  # new or ok, no failure: a success is a plain row of the bulk UPDATE
    status: str = "ok"
    last_ok_on: date | None = None  # its last good poll before this one


@dataclass
class Outcome:
    result: FetchResult | None = None
    error: FetchError | None = None
    found: list[tuple[int | None, Resolution, Candidate | None]] = field(default_factory=list)
    partial: str = ""  # why the page must be read in full again next time (an article failed, …)


def _plans(rt: Runtime, ids: list[int]) -> list[Plan]:
    # Plain columns, not ORM objects: a batch of hundreds of rows is read in a few milliseconds.
    with session_scope(rt.db_url) as session:
        rows = session.exec(select(Source.id, Source.agency_id, Source.url, Source.kind, Source.etag,
                                   Source.last_modified, Source.status, Source.failures, Source.unreachable_since,
                                   Source.last_ok_on, Agency.allowed_hosts, Agency.polling)
                            .join(Agency, Source.agency_id == Agency.id)
                            .where(Source.id.in_(ids), Source.active == True)).all()  # noqa: E712
        agency_ids = list({r[1] for r in rows})
        known: dict[int, set[str]] = {a: set() for a in agency_ids}
        of_source: dict[int, list[tuple]] = {}
        if agency_ids:
            for agency_id, source_id, url, article, *state in session.exec(
                    select(Report.agency_id, Report.source_id, Report.url, Report.article_url, Report.id,
                           Report.status, Report.year, Report.next_check_at, Report.via)
                    .where(Report.agency_id.in_(agency_ids)).order_by(Report.id)):
                known[agency_id].update(u for u in (url, article) if u)
                of_source.setdefault(source_id, []).append(tuple(state))
        return [Plan(sid, aid, url, kind, etag, lm, tuple(hosts or ()), known[aid], of_source.get(sid, []), polling,
                     status in ("new", "ok") and not failures and unreachable_since is None, status, last_ok_on)
                for sid, aid, url, kind, etag, lm, status, failures, unreachable_since, last_ok_on, hosts, polling
                in rows]


# ---------------------------------------------------------------- phase 2: the network


async def _poll_one(fetcher: AsyncFetcher, plan: Plan) -> Outcome:
    try:
        first = await fetcher.get(plan.url, allowed_hosts=list(plan.allowed_hosts), etag=plan.etag,
                                  last_modified=plan.last_modified)
    except FetchError as exc:
        return Outcome(error=exc)
    outcome = Outcome(result=first)
    if first.not_modified:
        return outcome
    if plan.kind == "document":
        outcome.found.append((None, Resolution(plan.url, "document", 1.0, None), None))
        return outcome
    candidates: list[Candidate] = []
    if plan.kind == "feed" or looks_like_feed(first.content):
        candidates = parse_feed(first.content, first.url)
        via = "feed"
    else:
        via = "listing"
        listing = parse_listing(decode_page(first.content, first.charset), first.url)
        candidates = list(listing.candidates)
        for page_url in listing.pages[:MAX_PAGES - 1]:
            try:
                page = await fetcher.get(page_url, allowed_hosts=list(plan.allowed_hosts))
            except FetchError as exc:
                outcome.partial = f"listing page {page_url}: {exc.reason}"
                continue
            candidates += parse_listing(decode_page(page.content, page.charset), page.url).candidates
    seen: set[str] = set()
    to_follow: list[Candidate] = []
    for cand in candidates:
        if cand.url in seen:
            continue
        seen.add(cand.url)
        if cand.url in plan.known:
            continue  # recorded before: its report (or its article's) is re-checked by fetch_report
        if cand.kind == "page":
            to_follow.append(cand)
        else:
            outcome.found.append((cand.year, resolve(cand, None, via), cand))
    if len(to_follow) > MAX_FOLLOW:
        outcome.partial = f"{len(to_follow)} new report pages, {MAX_FOLLOW} read this time"
        to_follow = to_follow[:MAX_FOLLOW]
    articles = await asyncio.gather(*(fetcher.get(c.url, allowed_hosts=list(plan.allowed_hosts))
                                      for c in to_follow), return_exceptions=True)
    for cand, got in zip(to_follow, articles):
        if isinstance(got, FetchError):
            outcome.partial = f"article {cand.url}: {got.reason}"
            if got.permanent:  # a dead link stays recorded, with its reason, as the report page
                outcome.found.append((cand.year, Resolution(cand.url, via, cand.confidence * 0.5, cand.published,
                                                            note=got.reason), cand))
            continue
        if isinstance(got, BaseException):
            raise got
        if _is_html(got):
            article = read_article(decode_page(got.content, got.charset), got.url)
            outcome.found.append((cand.year, resolve(cand, article, via), cand))
        else:  # the "article" link was the document itself (no extension in its URL)
            outcome.found.append((cand.year, resolve(cand, None, via), cand))
    return outcome


def _is_html(result: FetchResult) -> bool:
    return "html" in result.content_type or result.content[:512].lstrip().lower().startswith((b"<!doctype", b"<html"))


async def _poll_all(fetcher: AsyncFetcher, plans: list[Plan]) -> list[Outcome]:
    return list(await asyncio.gather(*(_poll_one(fetcher, p) for p in plans)))


# ---------------------------------------------------------------- phase 3: the database


class _Events:
    """The PollEvents a batch raises, written at its end by one INSERT that skips those told
    already (dedup_key: told once). A key may be a function, for a report not inserted yet."""

    def __init__(self):
        self.rows: list[tuple] = []

    def add(self, key, kind: str, agency_id: int, detail: str, source_id: int | None = None, report=None) -> None:
        self.rows.append((key, kind, agency_id, detail, source_id, report))

    def write(self, session: Session) -> None:
        values, seen = [], set()
        for key, kind, agency_id, detail, source_id, report in self.rows:
            key = key() if callable(key) else key
            if key not in seen:
                seen.add(key)
                values.append({"dedup_key": key, "kind": kind, "agency_id": agency_id, "source_id": source_id,
                               "report_id": getattr(report, "id", report), "detail": detail})
        insert_new(session, PollEvent, values, unique=("dedup_key",))


def _record_failure(rt: Runtime, events: _Events, source: Source, agency: Agency, exc: FetchError,
                    now: datetime) -> None:
    source.failures += 1
    source.failed_since = source.failed_since or now
    source.status, source.status_reason, source.last_polled_at = "failed", exc.reason, now
    s = rt.settings
    if exc.status == "refused":
        digest = hashlib.sha256(exc.reason.encode()).hexdigest()[:12]
        events.add(f"refused:{source.id}:{digest}", "refused", agency.id, fetch_reason(exc.reason), source.id)
    if source.failures >= s.breaker_failures and source.unreachable_since is None:
        source.unreachable_since = now
        events.add(f"unreachable:{source.id}:{source.failed_since.isoformat()}", "unreachable", agency.id,
                   f"{source.url}：自{cn_datetime(source.failed_since)}起连续{source.failures}次抓取失败，"
                   f"最近一次：{fetch_reason(exc.reason)}", source.id)
    policy = _policy(rt, agency)
    if source.unreachable_since is not None:  # circuit open: back off beyond the usual interval
        delay = min(timedelta(hours=s.breaker_max_backoff_hours),
                    policy.next_delay(rt.today()) * 2 ** min(10, source.failures - s.breaker_failures))
    else:  # a few quick tries (the site may be briefly down), never later than the usual interval
        delay = min(policy.next_delay(rt.today()), timedelta(minutes=10) * 2 ** min(10, source.failures - 1))
    source.next_poll_at = now + delay


def _policy(rt: Runtime, agency: Agency):
    return rt.settings.polling_policy().with_overrides(agency.polling)


def _record_success(rt: Runtime, events: _Events, source: Source, agency: Agency, outcome: Outcome,
                    now: datetime) -> None:
    if source.unreachable_since is not None:
        events.add(f"recovered:{source.id}:{source.failed_since.isoformat()}", "recovered", agency.id,
                   f"{source.url} 在连续{source.failures}次抓取失败后恢复访问", source.id)
    source.failures, source.failed_since, source.unreachable_since = 0, None, None
    source.status, source.status_reason = "ok", outcome.partial
    source.last_polled_at = source.last_ok_at = now
    source.last_ok_on = rt.today()
    result = outcome.result
    if not result.not_modified:
        # With a part unread (an article that failed), forget the validators: the next poll reads it all.
        source.etag = None if outcome.partial else result.etag
        source.last_modified = None if outcome.partial else result.last_modified
    source.next_poll_at = now + _policy(rt, agency).next_delay(rt.today())


class _Found:
    """The reports a batch's finds concern, in memory: those of its agencies with a URL or a
    year found (one query; ORM rows, written at the flush), and the ones it adds (plain rows,
    inserted together at the end: `insert`)."""

    NEW = ("agency_id", "source_id", "url", "via", "confidence", "article_url", "year", "title", "published_on",
           "visible_after", "backdated", "ambiguous", "status", "status_reason")

    def __init__(self, session: Session, finds: list[tuple[int, list]]):
        self.of_agency: dict[int, list] = {}
        self.by_url: dict[tuple[int, str], object] = {}
        self.new: list[SimpleNamespace] = []
        urls = {res.url for _, found in finds for _, res, _ in found}
        years = {year for _, found in finds for year, _, _ in found if year}
        if not urls:
            return
        near = Report.url.in_(sorted(urls)) if not years else or_(Report.url.in_(sorted(urls)),
                                                                  Report.year.in_(sorted(years)))
        for report in session.exec(select(Report).where(Report.agency_id.in_(sorted({a for a, _ in finds})), near)
                                   .order_by(Report.id)):
            self._keep(report)

    def _keep(self, report) -> None:
        self.of_agency.setdefault(report.agency_id, []).append(report)
        self.by_url[(report.agency_id, report.url)] = report

    def get(self, agency_id: int, url: str):
        return self.by_url.get((agency_id, url))

    def add(self, **values) -> SimpleNamespace:
        report = SimpleNamespace(id=None, **values)
        self.new.append(report)
        self._keep(report)
        return report

    def of_year(self, agency_id: int, year: int) -> list:
        return [r for r in self.of_agency.get(agency_id, ()) if r.year == year and r.via != "ingest"]

    def insert(self, session: Session) -> None:
        if not self.new:
            return
        table = Report.__table__
        rows = session.execute(insert(table).returning(table.c.id, table.c.agency_id, table.c.url),
                               [{k: getattr(r, k) for k in self.NEW} for r in self.new])
        ids = {(agency_id, url): rid for rid, agency_id, url in rows}
        for report in self.new:
            report.id = ids[(report.agency_id, report.url)]


def _upsert(found: _Found, events: _Events, agency_id: int, source_id: int, year: int | None, res: Resolution,
            cand: Candidate | None, previous_ok_on) -> None:
    report = found.get(agency_id, res.url)
    if report is None:
        # Stated earlier than a poll that did not show it: the page is backdated.
        report = found.add(agency_id=agency_id, source_id=source_id, url=res.url, via=res.via,
                           confidence=res.confidence, article_url=res.article_url, year=year,
                           title=cand.title if cand else "", published_on=res.published, visible_after=previous_ok_on,
                           backdated=bool(res.published and previous_ok_on and res.published < previous_ok_on),
                           ambiguous=False, status="discovered", status_reason="")
        if res.alternatives:
            report.ambiguous, report.status = True, "ambiguous"
            report.status_reason = f"{res.note}: " + " ".join([res.url] + res.alternatives)
        elif res.note:
            report.status_reason = res.note
        if report.ambiguous:
            events.add(lambda: f"ambiguous:{report.id}", "ambiguous", agency_id,
                       f"{res.article_url}：{fetch_reason(report.status_reason)}", source_id, report)
        if report.backdated:
            events.add(lambda: f"backdated:{report.id}", "backdated", agency_id,
                       f"{res.url} 标注的发布日期为{cn_date(res.published)}，但{cn_date(previous_ok_on)}抓取时该页面尚未出现",
                       source_id, report)
    else:
        report.title = report.title or (cand.title if cand else "")
        report.year = report.year or year
        report.published_on = report.published_on or res.published


def _mark_ambiguous_years(found: _Found, events: _Events, agency_id: int, years: set[int]) -> None:
    """Two documents claiming one year: both recorded as ambiguous, neither fetched nor scored."""
    for year in years:
        reports = found.of_year(agency_id, year)
        if len({r.url for r in reports}) < 2:
            continue
        urls = sorted(r.url for r in reports)
        for r in reports:
            if not r.ambiguous:
                r.ambiguous = True
                if r.status == "discovered":
                    r.status = "ambiguous"
                r.status_reason = f"{len(urls)} documents claim {year}: " + " ".join(urls)
        digest = hashlib.sha256(" ".join(urls).encode()).hexdigest()[:12]
        events.add(f"ambiguous:{agency_id}:{year}:{digest}", "ambiguous", agency_id,
                   f"{year}年度发现{len(urls)}份可能的年报：" + " ".join(urls))


def _store(rt: Runtime, plans: list[Plan], outcomes: list[Outcome], force: bool) -> list[Next]:
    """Phase 3: the whole batch written in one transaction, a statement a kind of row: a healthy
    source that answered is a row of one bulk UPDATE (the others, rare, go through the ORM),
    its finds are new reports inserted together, events one INSERT."""
    now = utcnow()
    today = rt.today()
    base_policy = rt.settings.polling_policy()
    touched: set[int] = set()
    polled_ok: list[int] = []
    plain: list[dict] = []  # healthy source, page answered: one executemany for all
    involved = [p.source_id for p, o in zip(plans, outcomes) if o.error is not None or not p.healthy]
    events = _Events()
    with session_scope(rt.db_url) as session:
        sources = {s.id: s for s in session.exec(select(Source).where(Source.id.in_(involved)))} if involved else {}
        agencies = {a.id: a for a in session.exec(select(Agency).where(
            Agency.id.in_(sorted({s.agency_id for s in sources.values()}))))} if sources else {}
        finds = [(p.agency_id, o.found) for p, o in zip(plans, outcomes) if o.found]
        found = _Found(session, finds)
        for plan, outcome in zip(plans, outcomes):
            if outcome.error is None and plan.healthy:
                result = outcome.result
                kept = result.not_modified or not outcome.partial  # with a part unread, the next poll reads it all
                plain.append({"id": plan.source_id, "status": "ok", "status_reason": outcome.partial,
                              "last_polled_at": now, "last_ok_at": now, "last_ok_on": today,
                              "next_poll_at": now + base_policy.with_overrides(plan.polling).next_delay(today),
                              "etag": (plan.etag if result.not_modified else result.etag) if kept else None,
                              "last_modified": (plan.last_modified if result.not_modified else result.last_modified)
                              if kept else None})
                polled_ok.append(plan.source_id)
                previous_ok_on = plan.last_ok_on
                if plan.status != "ok":  # its first good poll
                    touched.add(plan.agency_id)
            else:
                source, agency = sources.get(plan.source_id), agencies.get(plan.agency_id)
                if source is None or agency is None:
                    continue
                was = (source.status, source.unreachable_since is None)
                previous_ok_on = source.last_ok_on
                if outcome.error is not None:
                    _record_failure(rt, events, source, agency, outcome.error, now)
                else:
                    _record_success(rt, events, source, agency, outcome, now)
                    polled_ok.append(source.id)
                if was != (source.status, source.unreachable_since is None):
                    touched.add(agency.id)
            if outcome.found:
                years = set()
                for year, res, cand in outcome.found:
                    before = found.get(plan.agency_id, res.url) is not None
                    _upsert(found, events, plan.agency_id, plan.source_id, year, res, cand, previous_ok_on)
                    if not before and year:
                        years.add(year)
                _mark_ambiguous_years(found, events, plan.agency_id, years)
                touched.add(plan.agency_id)
        if plain:
            session.execute(update(Source), plain)  # bulk UPDATE by primary key
        found.insert(session)
        events.write(session)
        session.flush()
        expectations.refresh(session, today, touched)
        # Sources that found something new are read again; the others' reports are known from phase 1.
        changed = [p.source_id for p, o in zip(plans, outcomes) if o.found]
        quiet = set(polled_ok) - set(changed)
        reports = [r for p in plans if p.source_id in quiet for r in p.reports]
        next_steps = _reports_to_fetch(rt, session, changed, force, now, reports)
        session.commit()
    return next_steps


def _reports_to_fetch(rt: Runtime, session: Session, source_ids: list[int], force: bool, now: datetime,
                      known: list[tuple] = ()) -> list[Next]:
    """New reports, reports whose fetch failed, and recent reports whose re-check is due (all with
    force: an explicit poll re-checks everything, a conditional GET costs little). `known` holds
    (id, status, year, next_check_at, via) rows already read; `source_ids` are read here."""
    recent = expectations.expected_year(rt.today()) - RECHECK_YEARS + 1
    rows = list(known)
    if source_ids:
        rows += session.exec(select(Report.id, Report.status, Report.year, Report.next_check_at, Report.via)
                             .where(Report.source_id.in_(source_ids))).all()
    out = []
    for report_id, status, year, next_check_at, via in sorted(rows, key=lambda r: r[0]):
        if status == "ambiguous" or via == "ingest":
            continue
        if status in ("discovered", "fetch_failed"):
            out.append(Next("fetch_report", report_id))
        elif (year is None or year >= recent) and (force or next_check_at is None or next_check_at <= now):
            out.append(Next("fetch_report", report_id))
    return out


def poll_batch(rt: Runtime, arg) -> list[Next]:
    """arg: {"ids": [source ids], "force": bool} (a list of ids is read as not forced)."""
    ids, force = (arg.get("ids", []), bool(arg.get("force"))) if isinstance(arg, dict) else (list(arg), False)
    plans = _plans(rt, [int(i) for i in ids])
    if not plans:
        return []
    outcomes = run_async(lambda: _poll_all(async_fetcher(rt), plans))
    try:
        return _store(rt, plans, outcomes, force)
    except IntegrityError as exc:
        # Another worker wrote the same report (a redelivered batch): a retry finds its rows.
        raise TransientError(f"concurrent write while storing a poll batch: {exc.orig}") from None


def poll_source(rt: Runtime, source_id: int) -> list[Next]:
    """One source, polled now, every recent report re-checked (an explicit poll)."""
    return poll_batch(rt, {"ids": [source_id], "force": True})


# ---------------------------------------------------------------- fetch_report


def fetch_report(rt: Runtime, report_id: int) -> list[Next]:
    """Fetch a report's document: a new version is a new Snapshot owing its parse. Whatever the
    answer (304, the same bytes), the step the latest version still owes is handed on: "the
    document did not change" never means "its work is done"."""
    rows = _to_fetch(rt, [report_id])
    if not rows:
        return []
    _, url, etag, last_modified, hosts = rows[0]
    now = utcnow()
    try:
        got = rt.fetcher.get(url, allowed_hosts=list(hosts or ()), etag=etag, last_modified=last_modified)
    except FetchError as exc:
        got = exc
    with session_scope(rt.db_url) as session:
        steps = _record_fetches(rt, session, {report_id: got}, now, hand_on_transient=False)
        session.commit()
    if isinstance(got, FetchError) and not got.permanent:
        raise TransientError(got.reason) from None
    return steps


def fetch_reports(rt: Runtime, report_ids: list[int]) -> list[Next]:
    """fetch_report for a batch of reports (a poll batch's finds): the documents fetched
    concurrently by the poller's client (its concurrency, per-host and size limits; each
    report's own agency hosts only), then every outcome written in one transaction. An item
    that fails keeps its error on its row (the reconciler redoes it) and the others are
    stored. A transient failure is recorded (fetch_failed) and handed on as a fetch_report of
    its own, which Celery retries with backoff."""
    rows = _to_fetch(rt, report_ids)
    if not rows:
        return []
    now = utcnow()

    async def one(fetcher: AsyncFetcher, url, etag, last_modified, hosts):
        try:
            return await fetcher.get(url, allowed_hosts=list(hosts or ()), etag=etag, last_modified=last_modified)
        except FetchError as exc:
            return exc

    async def every():
        fetcher = async_fetcher(rt)
        return await asyncio.gather(*(one(fetcher, url, etag, lm, hosts) for _, url, etag, lm, hosts in rows))

    answers = dict(zip((r[0] for r in rows), run_async(every)))
    with session_scope(rt.db_url) as session:
        steps = _record_fetches(rt, session, answers, now)
        session.commit()
    return steps


def _to_fetch(rt: Runtime, report_ids: list[int]) -> list[tuple]:
    """(id, url, etag, last_modified, allowed hosts) of the reports a fetch concerns, by id."""
    with session_scope(rt.db_url) as session:
        return session.exec(select(Report.id, Report.url, Report.etag, Report.last_modified, Agency.allowed_hosts)
                            .join(Agency, Report.agency_id == Agency.id)
                            .where(Report.id.in_(report_ids), Report.via != "ingest",
                                   Report.status != "ambiguous").order_by(Report.id)).all()


class _Version(NamedTuple):
    """What the outcome of a fetch reads of a Snapshot."""
    id: int
    report_id: int
    sha256: str
    work_state: str
    parse_status: str
    state_since: datetime | None


def _versions(session: Session, ids: list[int], shas: dict[int, str]) -> list[_Version]:
    """The snapshots with these ids, and those of each report (key) with its hash (value)."""
    where = [Snapshot.id.in_(ids)] if ids else []
    if shas:
        where.append(and_(Snapshot.report_id.in_(list(shas)), Snapshot.sha256.in_(sorted(set(shas.values())))))
    if not where:
        return []
    rows = session.exec(select(Snapshot.id, Snapshot.report_id, Snapshot.sha256, Snapshot.work_state,
                               Snapshot.parse_status, Snapshot.state_since).where(or_(*where)))
    return [_Version(*r) for r in rows]


def _entering(state_field: str, current: str, since: datetime | None, state: str, now: datetime) -> dict:
    """worker.steps.enter for a row written in bulk: the columns to set (none if it is there)."""
    if current != state or since is None:
        return {state_field: state, "state_since": now, "attempts": 0, "last_error": ""}
    return {}


def _record_fetches(rt: Runtime, session: Session, answers: dict[int, FetchResult | FetchError], now: datetime,
                    hand_on_transient: bool = True) -> list[Next]:
    """Write the outcomes of fetching reports (not committed); returns the step each report's
    latest version owes, and with hand_on_transient a transient failure's fetch_report again.
    A query a table reads what they depend on, every row's change is computed, then a statement
    a kind of change writes them. What may fail for one item (its blob, its agency's polling
    overrides) runs before anything is written: that item keeps its error on its row, the
    others are stored."""
    reports = {r.id: r for r in session.exec(
        select(Report.id, Report.agency_id, Report.source_id, Report.url, Report.via, Report.status,
               Report.state_since, Report.latest_snapshot_id, Report.edit_count, Agency.polling)
        .join(Agency, Report.agency_id == Agency.id).where(Report.id.in_(list(answers))))
        if r.via != "ingest" and r.status != "ambiguous"}
    today, base = rt.today(), rt.settings.polling_policy()
    policies, rows, shas, failed = {}, {}, {}, []
    for rid in sorted(reports):
        report, got = reports[rid], answers[rid]
        try:
            if report.agency_id not in policies:
                policies[report.agency_id] = base.with_overrides(report.polling)
            rows[rid] = {"id": rid, "next_check_at": now + policies[report.agency_id].next_delay(today)}
            if isinstance(got, FetchResult) and not got.not_modified:
                shas[rid] = rt.blobs.put(got.content)  # before the row: a row never points at a missing blob
        except Exception as exc:  # noqa: BLE001 - one bad item must not lose the batch
            log.exception("storing the fetch of report %s failed", rid)
            rows.pop(rid, None)
            failed.append({"id": rid, "last_error": f"{type(exc).__name__}: {exc}"[:2000]})

    latest = [reports[r].latest_snapshot_id for r in rows
              if isinstance(answers[r], FetchResult) and answers[r].not_modified and reports[r].latest_snapshot_id]
    # A report without a version has none with its hash either (one written meanwhile by another worker
    # is met by the insert below).
    versions = _versions(session, latest, {r: sha for r, sha in shas.items() if reports[r].latest_snapshot_id})
    by_id = {v.id: v for v in versions}
    by_sha = {(v.report_id, v.sha256): v for v in versions if shas.get(v.report_id) == v.sha256}
    new = {rid: sha for rid, sha in shas.items() if (rid, sha) not in by_sha}
    if new:
        written = insert_new(session, Snapshot, [
            {"report_id": rid, "sha256": sha, "content_type": answers[rid].content_type + (
                f"; charset={answers[rid].charset}" if answers[rid].charset else ""),
             "size": len(answers[rid].content), "fetched_at": rt.now(), "work_state": "parse", "state_since": now}
            for rid, sha in new.items()], unique=("report_id", "sha256"), returning=("id", "report_id", "sha256"))
        for sid, rid, sha in written:
            by_sha[(rid, sha)] = _Version(sid, rid, sha, "parse", "pending", now)
        if len(written) < len(new):  # another worker stored some of them first: theirs are the versions
            missing = {rid: sha for rid, sha in new.items() if (rid, sha) not in by_sha}
            by_sha.update({(v.report_id, v.sha256): v for v in _versions(session, [], missing)
                           if missing.get(v.report_id) == v.sha256})

    steps: list[Next] = []
    snapshot_rows: list[dict] = []
    events = _Events()
    for rid, row in rows.items():
        report, got = reports[rid], answers[rid]
        if isinstance(got, FetchError):
            row.update(_entering("status", report.status, report.state_since, "fetch_failed", now),
                       status_reason=got.reason)
            if hand_on_transient and not got.permanent:
                steps.append(Next("fetch_report", rid))
            continue
        if got.not_modified:
            version = by_id.get(report.latest_snapshot_id)
            if version is not None:
                row.update(_entering("status", report.status, report.state_since, "fetched", now), status_reason="")
                steps += owed(version)
            continue
        version, previous = by_sha[(rid, shas[rid])], report.latest_snapshot_id
        if version.id != previous and version.parse_status == "parsed":
            # The page went back to an earlier version: score that one again as the current one.
            change = _entering("work_state", version.work_state, version.state_since, "evaluate", now)
            if change:
                snapshot_rows.append({"id": version.id, **change})
                version = version._replace(work_state="evaluate")
        if previous is not None and previous != version.id:
            # Changed after we first read it: recorded and visible, whatever the listing says.
            row.update(edit_count=report.edit_count + 1, edited_at=now)
            events.add(f"silent_edit:{rid}:{previous}:{version.id}", "silent_edit", report.agency_id,
                       f"{report.url} 发布后内容有变化（第{report.edit_count + 2}次修改，文件校验码 {shas[rid][:12]}）",
                       report.source_id, rid)
        row.update(_entering("status", report.status, report.state_since, "fetched", now), latest_snapshot_id=version.id,
                   status_reason="", etag=got.etag, last_modified=got.last_modified)
        steps += owed(version)
    update_by_id(session, Snapshot, snapshot_rows)
    events.write(session)
    update_by_id(session, Report, list(rows.values()) + failed)
    return steps


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


# ---------------------------------------------------------------- reports handed in by other means


# What `ingest` refuses to keep: documents that are no report at all. A scan (needs_ocr) or a
# document our parser fails on (parse_failed) is kept: a later reader may yet read it.
INGEST_REFUSED = {"not_a_report": "不是政府信息公开工作年度报告", "unsupported_format": "文件格式无法读取",
                  "too_large": "文件过大", "unreadable": "文件已损坏，无法读取"}


@dataclass
class Ingested:
    report_id: int
    steps: list[Next]
    review: str | None = None  # why the document is not this agency's report for that year (待人工确认)


def ingest_file(rt: Runtime, slug: str, name: str, data: bytes, year: int | None = None,
                published=None) -> Ingested:
    """A report handed in by mail or on paper (`nianbao ingest`): stored as a Report of the agency
    (via "ingest") and a Snapshot, then parsed and scored like a fetched one. With a year, a later
    hand-in for that year is a new version of the same report; without one, each file is its own.
    The document is read first: one that is no report (random bytes, a news page) raises
    ValueError and nothing is stored; one that names another agency or year is stored and
    left for a person (parse_snapshot marks it needs_review)."""
    from documents.errors import DocumentError
    from documents.reader import read_document
    from rules.identity import filing_mismatch

    if not data:
        raise ValueError(f"{name}：文件为空，未保存。")
    try:
        parsed = read_document(data, name=name)
    except DocumentError as exc:
        if exc.status in INGEST_REFUSED:
            raise ValueError(f"{name}：{INGEST_REFUSED[exc.status]}：{exc.zh.rstrip('。')}，未保存。") from None
        parsed = None
    with session_scope(rt.db_url) as session:
        agency = session.exec(select(Agency).where(Agency.slug == slug)).first()
        if agency is None:
            raise LookupError(f"没有代码为 {slug} 的单位（请检查单位名录文件；`nianbao status` 列出各单位的代码）")
        agency_name = agency.name
    review = filing_mismatch(agency_name, year, parsed.meta.get("agency"), parsed.meta.get("year")) if parsed else None
    sha = rt.blobs.put(data)
    with session_scope(rt.db_url) as session:
        agency = session.exec(select(Agency).where(Agency.slug == slug)).one()
        url = f"ingest://{slug}/{year}" if year else f"ingest://{slug}/{sha[:16]}/{name}"
        report = session.exec(select(Report).where(Report.agency_id == agency.id, Report.url == url)).first()
        if report is None:
            report = Report(agency_id=agency.id, url=url, via="ingest", confidence=1.0, year=year, title="",
                            published_on=published, status="fetched")
            session.add(report)
            session.flush()
        elif published:
            report.published_on = published
        snapshot = session.exec(select(Snapshot).where(Snapshot.report_id == report.id,
                                                       Snapshot.sha256 == sha)).first()
        steps: list[Next] = []
        if snapshot is None:
            lowered = name.lower()
            ctype = next((t for ext, t in ((".pdf", "application/pdf"), (".html", "text/html"), (".htm", "text/html"),
                                           (".docx", "application/vnd.openxmlformats-officedocument"
                                                     ".wordprocessingml.document"), (".txt", "text/plain"))
                          if lowered.endswith(ext)), "")
            snapshot = Snapshot(report_id=report.id, sha256=sha, content_type=ctype, size=len(data), fetched_at=rt.now())
            session.add(snapshot)
            session.flush()
            if report.latest_snapshot_id is not None:
                report.edit_count, report.edited_at = report.edit_count + 1, utcnow()
            steps.append(Next("parse_snapshot", snapshot.id))
        report.latest_snapshot_id = snapshot.id
        session.add(report)
        session.flush()
        expectations.refresh(session, rt.today(), [agency.id])
        session.commit()
        return Ingested(report.id, steps, review)
