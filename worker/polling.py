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
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, select, update

from documents.afetch import AsyncFetcher
from documents.discovery import Candidate, Resolution, parse_listing, read_article, resolve
from documents.errors import FetchError
from documents.feeds import looks_like_feed, parse_feed
from documents.fetch import FetchResult
from documents.listing import decode_page
from models import Agency, PollEvent, Report, Snapshot, Source
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
    healthy: bool = True  # status ok, no failure in a row: a plain success changes only columns


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
                                   Source.last_modified, Source.status, Source.failures, Agency.allowed_hosts,
                                   Agency.polling)
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
                     status == "ok" and not failures)
                for sid, aid, url, kind, etag, lm, status, failures, hosts, polling in rows]


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


def _event(session: Session, key: str, kind: str, agency_id: int, detail: str, source_id: int | None = None,
           report_id: int | None = None) -> None:
    if session.exec(select(PollEvent.id).where(PollEvent.dedup_key == key)).first() is None:
        session.add(PollEvent(dedup_key=key, kind=kind, agency_id=agency_id, source_id=source_id,
                              report_id=report_id, detail=detail))


def _policy(rt: Runtime, agency: Agency):
    return rt.settings.polling_policy().with_overrides(agency.polling)


def _record_failure(rt: Runtime, session: Session, source: Source, agency: Agency, exc: FetchError,
                    now: datetime) -> None:
    source.failures += 1
    source.failed_since = source.failed_since or now
    source.status, source.status_reason, source.last_polled_at = "failed", exc.reason, now
    s = rt.settings
    if exc.status == "refused":
        digest = hashlib.sha256(exc.reason.encode()).hexdigest()[:12]
        _event(session, f"refused:{source.id}:{digest}", "refused", agency.id, fetch_reason(exc.reason), source.id)
    if source.failures >= s.breaker_failures and source.unreachable_since is None:
        source.unreachable_since = now
        _event(session, f"unreachable:{source.id}:{source.failed_since.isoformat()}", "unreachable", agency.id,
               f"{source.url}：自{cn_datetime(source.failed_since)}起连续{source.failures}次抓取失败，"
               f"最近一次：{fetch_reason(exc.reason)}", source.id)
    policy = _policy(rt, agency)
    if source.unreachable_since is not None:  # circuit open: back off beyond the usual interval
        delay = min(timedelta(hours=s.breaker_max_backoff_hours),
                    policy.next_delay(rt.today()) * 2 ** min(10, source.failures - s.breaker_failures))
    else:  # a few quick tries (the site may be briefly down), never later than the usual interval
        delay = min(policy.next_delay(rt.today()), timedelta(minutes=10) * 2 ** min(10, source.failures - 1))
    source.next_poll_at = now + delay


def _record_success(rt: Runtime, session: Session, source: Source, agency: Agency, outcome: Outcome,
                    now: datetime) -> None:
    if source.unreachable_since is not None:
        _event(session, f"recovered:{source.id}:{source.failed_since.isoformat()}", "recovered", agency.id,
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


def _upsert(session: Session, agency: Agency, source: Source, year: int | None, res: Resolution,
            cand: Candidate | None, previous_ok_on, existing: dict[str, Report]) -> Report:
    report = existing.get(res.url)
    if report is None:
        report = Report(agency_id=agency.id, source_id=source.id, url=res.url, via=res.via, confidence=res.confidence,
                        article_url=res.article_url, year=year, title=cand.title if cand else "",
                        published_on=res.published, visible_after=previous_ok_on)
        # Stated earlier than a poll that did not show it: the page is backdated.
        report.backdated = bool(res.published and previous_ok_on and res.published < previous_ok_on)
        if res.alternatives:
            report.ambiguous, report.status = True, "ambiguous"
            report.status_reason = f"{res.note}: " + " ".join([res.url] + res.alternatives)
        elif res.note:
            report.status_reason = res.note
        session.add(report)
        session.flush()
        existing[res.url] = report
        if report.ambiguous:
            _event(session, f"ambiguous:{report.id}", "ambiguous", agency.id,
                   f"{res.article_url}：{fetch_reason(report.status_reason)}", source.id, report.id)
        if report.backdated:
            _event(session, f"backdated:{report.id}", "backdated", agency.id,
                   f"{res.url} 标注的发布日期为{cn_date(res.published)}，但{cn_date(previous_ok_on)}抓取时该页面尚未出现",
                   source.id, report.id)
    else:
        report.title = report.title or (cand.title if cand else "")
        report.year = report.year or year
        report.published_on = report.published_on or res.published
        session.add(report)
    return report


def _mark_ambiguous_years(session: Session, agency: Agency, years: set[int]) -> None:
    """Two documents claiming one year: both recorded as ambiguous, neither fetched nor scored."""
    for year in years:
        reports = session.exec(select(Report).where(Report.agency_id == agency.id, Report.year == year,
                                                    Report.via != "ingest")).all()
        if len({r.url for r in reports}) < 2:
            continue
        urls = sorted(r.url for r in reports)
        for r in reports:
            if not r.ambiguous:
                r.ambiguous = True
                if r.status == "discovered":
                    r.status = "ambiguous"
                r.status_reason = f"{len(urls)} documents claim {year}: " + " ".join(urls)
                session.add(r)
        digest = hashlib.sha256(" ".join(urls).encode()).hexdigest()[:12]
        _event(session, f"ambiguous:{agency.id}:{year}:{digest}", "ambiguous", agency.id,
               f"{year}年度发现{len(urls)}份可能的年报：" + " ".join(urls))


def _store(rt: Runtime, plans: list[Plan], outcomes: list[Outcome], force: bool) -> list[Next]:
    now = utcnow()
    today = rt.today()
    base_policy = rt.settings.polling_policy()
    touched: set[int] = set()
    polled_ok: list[int] = []
    plain: list[dict] = []  # healthy source, page answered, nothing new: one executemany for all
    involved: list[tuple[Plan, Outcome]] = []
    for plan, outcome in zip(plans, outcomes):
        if outcome.error is None and plan.healthy and not outcome.found and not outcome.partial:
            result = outcome.result
            delay = base_policy.with_overrides(plan.polling).next_delay(today)
            plain.append({"id": plan.source_id, "status_reason": "", "last_polled_at": now, "last_ok_at": now,
                          "last_ok_on": today, "next_poll_at": now + delay,
                          "etag": plan.etag if result.not_modified else result.etag,
                          "last_modified": plan.last_modified if result.not_modified else result.last_modified})
            polled_ok.append(plan.source_id)
        else:
            involved.append((plan, outcome))
    with session_scope(rt.db_url) as session:
        if plain:
            session.execute(update(Source), plain)  # bulk UPDATE by primary key
        ids = [p.source_id for p, _ in involved]
        sources = {s.id: s for s in session.exec(select(Source).where(Source.id.in_(ids)))} if ids else {}
        agency_ids = {p.agency_id for p, _ in involved}
        agencies = {a.id: a for a in session.exec(select(Agency).where(Agency.id.in_(agency_ids)))} if ids else {}
        for plan, outcome in involved:
            source, agency = sources.get(plan.source_id), agencies.get(plan.agency_id)
            if source is None or agency is None:
                continue
            was = (source.status, source.unreachable_since is None)
            if outcome.error is not None:
                _record_failure(rt, session, source, agency, outcome.error, now)
            else:
                previous_ok_on = source.last_ok_on
                _record_success(rt, session, source, agency, outcome, now)
                polled_ok.append(source.id)
                if outcome.found:
                    existing = {r.url: r for r in session.exec(select(Report).where(Report.agency_id == agency.id))}
                    years = set()
                    for year, res, cand in outcome.found:
                        before = res.url in existing
                        _upsert(session, agency, source, year, res, cand, previous_ok_on, existing)
                        if not before and year:
                            years.add(year)
                    _mark_ambiguous_years(session, agency, years)
                    touched.add(agency.id)
            session.add(source)
            if was != (source.status, source.unreachable_since is None):
                touched.add(agency.id)
        session.flush()
        expectations.refresh(session, today, touched)
        # Sources that found something new are read again; the others' reports are known from phase 1.
        changed = [p.source_id for p, o in involved if o.found]
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
    with session_scope(rt.db_url) as session:
        report = session.get(Report, report_id)
        if report is None or report.via == "ingest" or report.status == "ambiguous":
            return []
        agency = session.get(Agency, report.agency_id)
        now = utcnow()
        try:
            result, error = rt.fetcher.get(report.url, allowed_hosts=agency.allowed_hosts,
                                           etag=report.etag, last_modified=report.last_modified), None
        except FetchError as exc:
            result, error = None, exc
        steps = _record_fetch(rt, session, report, agency, result, error, now)
        session.commit()
        if error is not None and not error.permanent:
            raise TransientError(error.reason) from None
        return steps


def fetch_reports(rt: Runtime, report_ids: list[int]) -> list[Next]:
    """fetch_report for a batch of reports (a poll batch's finds): the documents fetched
    concurrently by the poller's client (its concurrency, per-host and size limits; each
    report's own agency hosts only), then every outcome written in one transaction, each in a
    savepoint of its own: an item that fails keeps its error on its row (the reconciler redoes
    it) and the others are stored. A transient failure is recorded (fetch_failed) and handed on
    as a fetch_report of its own, which Celery retries with backoff."""
    with session_scope(rt.db_url) as session:
        rows = session.exec(select(Report.id, Report.url, Report.etag, Report.last_modified, Agency.allowed_hosts)
                            .join(Agency, Report.agency_id == Agency.id)
                            .where(Report.id.in_(report_ids), Report.via != "ingest",
                                   Report.status != "ambiguous").order_by(Report.id)).all()
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
    steps: list[Next] = []
    with session_scope(rt.db_url) as session:
        reports = {r.id: r for r in session.exec(select(Report).where(Report.id.in_(list(answers))))}
        agencies = {a.id: a for a in session.exec(select(Agency).where(
            Agency.id.in_({r.agency_id for r in reports.values()})))}
        for report_id, got in answers.items():
            report = reports.get(report_id)
            if report is None or report.via == "ingest" or report.status == "ambiguous":
                continue
            error = got if isinstance(got, FetchError) else None
            try:
                with session.begin_nested():
                    steps += _record_fetch(rt, session, report, agencies[report.agency_id],
                                           None if error else got, error, now)
            except (IntegrityError, OperationalError):
                raise  # the batch is retried as a whole
            except Exception as exc:  # noqa: BLE001 - one bad item must not lose the batch
                log.exception("storing the fetch of report %s failed", report_id)
                session.execute(update(Report).where(Report.id == report_id)
                                .values(last_error=f"{type(exc).__name__}: {exc}"[:2000]))
                continue
            if error is not None and not error.permanent:
                steps.append(Next("fetch_report", report_id))
        session.commit()
    return steps


def _record_fetch(rt: Runtime, session: Session, report: Report, agency: Agency, result: FetchResult | None,
                  error: FetchError | None, now: datetime) -> list[Next]:
    """Write the outcome of fetching a report (not committed); the step its latest version owes."""
    report.next_check_at = now + _policy(rt, agency).next_delay(rt.today())
    if error is not None:
        enter(report, "status", "fetch_failed", now)
        report.status_reason = error.reason
        session.add(report)
        return []
    latest = session.get(Snapshot, report.latest_snapshot_id) if report.latest_snapshot_id else None
    if result.not_modified:
        if latest is not None:
            enter(report, "status", "fetched", now)
            report.status_reason = ""
        session.add(report)
        return owed(latest) if latest is not None else []
    sha = rt.blobs.put(result.content)  # before the row: a row never points at a missing blob
    snapshot = session.exec(select(Snapshot).where(Snapshot.report_id == report.id,
                                                   Snapshot.sha256 == sha)).first()
    previous = report.latest_snapshot_id
    if snapshot is None:
        content_type = result.content_type + (f"; charset={result.charset}" if result.charset else "")
        snapshot = Snapshot(report_id=report.id, sha256=sha, content_type=content_type, size=len(result.content),
                            fetched_at=rt.now(), work_state="parse", state_since=now)
        session.add(snapshot)
        session.flush()
    elif snapshot.id != previous and snapshot.parse_status == "parsed":
        # The page went back to an earlier version: score that one again as the current one.
        enter(snapshot, "work_state", "evaluate", now)
        session.add(snapshot)
    if previous is not None and previous != snapshot.id:
        # Changed after we first read it: recorded and visible, whatever the listing says.
        report.edit_count += 1
        report.edited_at = now
        _event(session, f"silent_edit:{report.id}:{previous}:{snapshot.id}", "silent_edit", agency.id,
               f"{report.url} 发布后内容有变化（第{report.edit_count + 1}次修改，文件校验码 {sha[:12]}）",
               report.source_id, report.id)
    report.latest_snapshot_id = snapshot.id
    enter(report, "status", "fetched", now)
    report.status_reason = ""
    report.etag, report.last_modified = result.etag, result.last_modified
    session.add(report)
    return owed(snapshot)


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
