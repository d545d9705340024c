"""The database drives the pipeline: a lost message is redone by the reconciler after its step's
lease, a late duplicate changes nothing, work that keeps failing stops (failed, admins told,
`nianbao retry` redoes it), a notice whose outcome is unknown is never re-sent by itself but
the admins hear of it at once and the digest lists it. Real SQLite and PostgreSQL, real HTTP
portals and a real notice endpoint; messages are "lost" by not running the steps a step returns."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import deque
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import select

from models import DeliveryAttempt, Evaluation, Notice, Report, Snapshot
from models.db import session_scope
from models.types import utcnow
from tests.conftest import REPO
from worker import pipeline
from worker.backlog import backlog, lines_zh
from worker.delivery import pending_notices
from worker.reconciler import reconcile, retry
from worker.runner import CycleReport, drain
from worker.status import agency_statuses


def run_losing(rt, lose: set[str]) -> list:
    """Poll everything and run the pipeline, dropping every message for the steps in `lose` (as a
    Redis restart or a killed worker would); returns the dropped steps."""
    pipeline.refresh_roster(rt)
    pipeline.check_rules(rt)
    queue, lost = deque(pipeline.due_sources(rt, all_sources=True)), []
    while queue:
        step = queue.popleft()
        for nxt in pipeline.run_step(rt, step.step, step.arg):
            (lost if nxt.step in lose else queue).append(nxt)
    return lost


def later(rt, step: str, seconds: int = 1):
    """A moment past `step`'s lease, as the reconciler's clock would see it."""
    return utcnow() + timedelta(seconds=rt.settings.lease(step) + seconds)


def waiting(rt) -> dict[str, int]:
    with session_scope(rt.db_url) as session:
        return {s.step: s.waiting for s in backlog(session, rt.settings).steps}


def test_a_snapshot_left_unparsed_is_not_done_and_the_reconciler_parses_it(rt):
    lost = run_losing(rt, {"parse_snapshot"})
    assert lost and all(s.step == "parse_snapshot" for s in lost)
    assert waiting(rt)["parse"] == len(lost)
    # "Same bytes, already the latest" is not "done": a re-fetch hands on the parse it owes.
    with session_scope(rt.db_url) as session:
        report = session.exec(select(Report).where(Report.latest_snapshot_id == lost[0].arg)).one()
    assert pipeline.run_step(rt, "fetch_report", report.id) == [lost[0]]
    # Within its lease nothing is handed out again; past it, every one is, once.
    assert [s for s in reconcile(rt).steps if s.step == "parse_snapshot"] == []
    again = reconcile(rt, now=later(rt, "parse")).steps
    assert sorted(s.arg for s in again if s.step == "parse_snapshot") == sorted(s.arg for s in lost)
    assert [s for s in reconcile(rt, now=later(rt, "parse")).steps if s.step == "parse_snapshot"] == []  # lease restarted
    drain(rt, deque(again), CycleReport())
    with session_scope(rt.db_url) as session:
        snapshots = session.exec(select(Snapshot)).all()
        assert all(s.parse_status != "pending" and s.work_state == "done" for s in snapshots)
        assert all(s.attempts == 0 for s in snapshots)  # a state entered starts its count afresh
    assert not any(waiting(rt).values())
    fgj = rt.endpoint.to("qinghe-fgj")
    assert len(fgj) == 1 and "ARI-01" in fgj[0]["message"]


def test_a_lost_plan_notices_is_planned_again_and_duplicates_change_nothing(rt):
    lost = run_losing(rt, {"plan_notices"})
    assert lost and rt.endpoint.to("qinghe-fgj") == []
    with session_scope(rt.db_url) as session:
        owed = session.exec(select(Evaluation.id).where(Evaluation.work_state == "plan")).all()
    assert sorted(owed) == sorted(s.arg for s in lost)
    drain(rt, deque(reconcile(rt, now=later(rt, "plan")).steps), CycleReport())
    assert not any(waiting(rt).values())
    sent = list(rt.endpoint.received)
    assert len(rt.endpoint.to("qinghe-fgj")) == 1
    # Every step delivered again, late (a redelivered message, a second reconciler): nothing changes.
    with session_scope(rt.db_url) as session:
        dupes = [("fetch_report", r.id) for r in session.exec(select(Report))]
        dupes += [(step, s.id) for s in session.exec(select(Snapshot)) for step in ("parse_snapshot", "evaluate")]
        dupes += [("plan_notices", e.id) for e in session.exec(select(Evaluation))]
        dupes += [("deliver", n.id) for n in session.exec(select(Notice))]
        notices = session.exec(select(Notice.id, Notice.status)).all()
    for step, arg in dupes:
        drain(rt, deque(pipeline.run_step(rt, step, arg)), CycleReport())
    with session_scope(rt.db_url) as session:
        assert session.exec(select(Notice.id, Notice.status)).all() == notices
    assert rt.endpoint.received == sent


def test_work_that_keeps_failing_stops_tells_the_admins_and_retry_redoes_it(rt):
    lost = run_losing(rt, {"parse_snapshot"})
    victim = lost[0].arg
    with session_scope(rt.db_url) as session:
        sha = session.get(Snapshot, victim).sha256
    blob = rt.blobs.path(sha)
    kept = blob.read_bytes()
    blob.unlink()  # the document is gone from the store: reading it fails every time
    drain(rt, deque(lost), CycleReport())
    for attempt in range(1, rt.settings.max_attempts + 1):
        steps = reconcile(rt, now=later(rt, "parse", attempt * 1000)).steps
        assert ("parse_snapshot", victim) in steps
        drain(rt, deque(steps), CycleReport())
    with session_scope(rt.db_url) as session:
        row = session.get(Snapshot, victim)
        assert row.work_state == "parse" and row.attempts == rt.settings.max_attempts
        assert "FileNotFoundError" in row.last_error
    done = reconcile(rt, now=later(rt, "parse", 10 ** 5))
    assert done.failed == [("snapshot", victim)] and ("parse_snapshot", victim) not in done.steps
    drain(rt, deque(done.steps), CycleReport())
    told = [m for m in rt.endpoint.to("admins") if "停止自动重试" in m["title"] + m["message"]]
    assert len(told) == 1 and f"nianbao retry snapshot {victim}" in told[0]["message"]
    assert "原因：读取存档文件出错（文件缺失或没有权限）" in told[0]["message"]  # a sentence, by the error's kind
    assert "FileNotFoundError" not in told[0]["message"]  # the stored error stays in the API and the log
    with session_scope(rt.db_url) as session:
        b = backlog(session, rt.settings)
    parse = next(s for s in b.steps if s.step == "parse")
    assert parse.failed == 1 and parse.waiting == 0
    assert [(i.kind, i.id, i.command) for i in b.failed] == [("snapshot", victim, f"nianbao retry snapshot {victim}")]
    assert any("已停止" in line and f"nianbao retry snapshot {victim}" in line for line in lines_zh(b))
    assert any("原因：读取存档文件出错" in line for line in lines_zh(b)) and b.failed[0].reason.startswith("FileNotFoundError")
    from tests.web.test_plain_chinese import offences
    assert not offences(" ".join(lines_zh(b)).replace(f"nianbao retry snapshot {victim}", ""), "status lines")
    # Further sweeps leave it alone; the admin hears of it once.
    assert reconcile(rt, now=later(rt, "parse", 10 ** 6)).steps == []

    # The admin puts the document back and retries it by hand: it goes through to the end.
    blob.write_bytes(kept)
    steps = retry(rt, "snapshot", victim)
    assert steps and steps[0].step == "parse_snapshot"
    drain(rt, deque(steps), CycleReport())
    with session_scope(rt.db_url) as session:
        row = session.get(Snapshot, victim)
        assert row.parse_status != "pending" and row.work_state == "done" and row.last_error == ""
    assert retry(rt, "snapshot", victim) is None  # nothing left to redo
    assert not any(waiting(rt).values())


def test_retry_failed_from_the_command_line(rt, tmp_path):
    lost = run_losing(rt, {"plan_notices"})
    ids = sorted(s.arg for s in lost)
    with session_scope(rt.db_url) as session:
        session.execute(update(Evaluation).where(Evaluation.id.in_(ids))
                        .values(work_state="failed", last_error="测试：已停止"))
        session.commit()
    env = {**os.environ, "NIANBAO_DATABASE_URL": rt.db_url, "NIANBAO_HOME": str(tmp_path / "home"),
           "NIANBAO_AGENCIES_FILE": str(rt.settings.agencies_file), "NIANBAO_TODAY": "2026-06-30",
           "NIANBAO_ALLOW_PRIVATE_HOSTS": "1", "NIANBAO_BROKER_URL": ""}
    run = subprocess.run([sys.executable, "-m", "cli.main", "retry", "--failed"], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert f"已重新执行 {len(ids)} 项工作" in run.stdout and f"评分结果 {ids[0]}：已完成" in run.stdout
    assert len(rt.endpoint.to("qinghe-fgj")) == 1
    run = subprocess.run([sys.executable, "-m", "cli.main", "retry", "evaluation", str(ids[0])], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 1 and "无需重试" in run.stderr
    run = subprocess.run([sys.executable, "-m", "cli.main", "retry", "thing", "1"], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 2 and "类别应为" in run.stderr


def test_a_notice_whose_outcome_is_unknown_is_not_resent_but_the_admins_hear_at_once(rt, tmp_path):
    run_losing(rt, {"deliver"})
    with session_scope(rt.db_url) as session:
        notice = session.exec(select(Notice).where(Notice.kind == "deficiency", Notice.agency_id != None)  # noqa: E711
                              .order_by(Notice.id)).first()
        # Its worker claimed it, handed it to the channel, and died before recording the answer.
        session.execute(update(Notice).where(Notice.id == notice.id).values(
            status="sending", attempts=1, claimed_at=utcnow() - timedelta(seconds=rt.settings.sending_stale_seconds + 5)))
        session.commit()
    drain(rt, deque(pending_notices(rt)), CycleReport())
    with session_scope(rt.db_url) as session:
        row = session.get(Notice, notice.id)
        assert row.status == "unknown" and row.attempts == 1
        assert len(session.exec(select(DeliveryAttempt).where(DeliveryAttempt.notice_id == notice.id)).all()) == 1
    agency_got = [m for m in rt.endpoint.received if m["title"] == notice.subject]
    assert agency_got == []  # never sent again by itself
    told = [m for m in rt.endpoint.to("admins") if "发送结果未知" in m["title"]]
    assert len(told) == 1 and f"nianbao notices resend {notice.id}" in told[0]["message"]
    assert f"通知编号 {notice.id}" in told[0]["message"]
    # A second sweep does not tell them again.
    drain(rt, deque(pending_notices(rt)), CycleReport())
    assert len([m for m in rt.endpoint.to("admins") if "发送结果未知" in m["title"]]) == 1

    # The digest lists it until someone acts; `notices list` counts its attempt as the row does.
    from worker.digest import build_digest

    with session_scope(rt.db_url) as session:
        session.info["preview"] = True
        digest = build_digest(session, rt)
        assert f"nianbao notices resend {notice.id}" in digest.body and notice.subject in digest.body
        session.rollback()
    env = {**os.environ, "NIANBAO_DATABASE_URL": rt.db_url, "NIANBAO_HOME": str(tmp_path / "home"),
           "NIANBAO_AGENCIES_FILE": str(rt.settings.agencies_file), "NIANBAO_BROKER_URL": ""}
    run = subprocess.run([sys.executable, "-m", "cli.main", "notices", "list", "--status", "unknown", "--json"],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert [(r["id"], r["attempts"]) for r in json.loads(run.stdout)] == [(notice.id, 1)]
    with session_scope(rt.db_url) as session:
        assert [i.id for i in backlog(session, rt.settings).unknown] == [notice.id]
        session.execute(update(Notice).where(Notice.id == notice.id).values(acked_at=utcnow(), acked_by="测试"))
        session.commit()
        session.info["preview"] = True
        assert f"nianbao notices resend {notice.id}" not in build_digest(session, rt).body
        session.rollback()
        assert backlog(session, rt.settings).unknown == []


def test_a_failed_enqueue_is_logged_and_left_to_the_reconciler(tmp_path):
    """A broker that does not answer: the step's successors are logged as left to the reconciler,
    and the task that enqueues them does not die."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: nothing listens there
    code = ("from worker.tasks import enqueue\nfrom worker.steps import Next\n"
            "print('lost', enqueue([Next('parse_snapshot', 1), Next('evaluate', 2)]))")
    env = {**os.environ, "NIANBAO_BROKER_URL": f"redis://127.0.0.1:{port}/0", "NIANBAO_HOME": str(tmp_path)}
    run = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "lost 2" in run.stdout and "the reconciler will hand it out" in run.stderr


def test_the_overview_shows_stopped_work_and_unknown_notices_with_their_commands(rt):
    from fastapi.testclient import TestClient

    from tests.web.conftest import ADMIN, login
    from tests.web.test_plain_chinese import offences, visible
    from web.app import create_app
    from web.auth import accounts_from_env, hash_password

    lost = run_losing(rt, {"deliver"})
    with session_scope(rt.db_url) as session:
        evaluation = session.exec(select(Evaluation).order_by(Evaluation.id)).first()
        session.execute(update(Evaluation).where(Evaluation.id == evaluation.id)
                        .values(work_state="failed", last_error="RuntimeError: boom"))
        session.execute(update(Notice).where(Notice.id == lost[0].arg).values(
            status="sending", attempts=1, claimed_at=utcnow() - timedelta(hours=1)))
        session.commit()
    pending_notices(rt)  # the claim is swept as unknown
    accounts = accounts_from_env({"NIANBAO_WEB_USERS": f"admin:{hash_password(ADMIN[1], iterations=1000)}:admin"})
    with TestClient(create_app(rt, accounts, secret="test-secret")) as client:
        login(client, ADMIN)
        page = client.get("/").text
    assert "需要处理的系统工作" in page
    assert f"nianbao retry evaluation {evaluation.id}" in page and f"nianbao notices resend {lost[0].arg}" in page
    panel = page[page.index('id="work"'):page.index('id="board"')]
    assert not offences(visible(f"<html><body><section {panel}</section></body></html>"), "overview work panel")
    assert "boom" not in panel and "原因：程序内部出错" in panel  # said by its kind; the stored text is the API's


def test_ocr_pending_hands_a_waiting_scan_out_once_a_lease(tmp_path, db_url):
    """The beat's ocr_pending claims a scan owing OCR in the database, as the reconciler does: a
    scan whose message still waits in the queue is not handed out again; one that has waited
    past NIANBAO_LEASE_OCR is, once (a second run, or the reconciler, at the same moment gets
    nothing), and its attempt is counted."""
    from config.settings import Settings
    from models import Agency
    from worker.parsing import ocr_pending
    from worker.runtime import Runtime
    from worker.steps import Next

    rt = Runtime(Settings(home=tmp_path / "home", database_url=db_url, broker_url=""))
    with session_scope(db_url) as session:
        agency = Agency(slug="nanling", name="南岭镇人民政府", level="government")
        session.add(agency)
        session.flush()
        report = Report(agency_id=agency.id, url="http://example.invalid/scan.pdf", via="article",
                        confidence=1.0, status="fetched")
        session.add(report)
        session.flush()
        snapshot = Snapshot(report_id=report.id, sha256="0" * 64, content_type="application/pdf",
                            parse_status="needs_ocr", parser_version="1", work_state="ocr")
        session.add(snapshot)
        session.commit()
        sid = snapshot.id
    assert ocr_pending(rt) == [] and ocr_pending(rt) == []  # its message is still in the queue
    past = later(rt, "ocr")
    assert ocr_pending(rt, now=past) == [Next("ocr_snapshot", sid)]
    assert ocr_pending(rt, now=past) == []
    assert [s for s in reconcile(rt, now=past).steps if s.step == "ocr_snapshot"] == []
    with session_scope(db_url) as session:
        assert session.get(Snapshot, sid).attempts == 1
    assert ocr_pending(rt, now=later(rt, "ocr") + timedelta(seconds=rt.settings.lease("ocr"))) == [
        Next("ocr_snapshot", sid)]


def test_a_poll_lost_outside_a_cycle_is_polled_again_after_its_lease_and_never_twice_at_once(rt):
    """Beat's poll_due claims the due sources for 30 minutes; their poll_batch message is lost. The
    sources stay owed a poll and the reconciler hands it out again after the poll lease, not after
    the claim. A source is polled by one message at a time; a late duplicate polls nothing."""
    from models import Source
    from worker import polls

    def shift(**columns):  # a source's times moved back past the poll lease, as the clock would
        back = timedelta(seconds=rt.settings.lease("poll") + 1)
        with session_scope(rt.db_url) as session:
            for source in session.exec(select(Source)):
                for column in columns:
                    if getattr(source, column) is not None:
                        setattr(source, column, getattr(source, column) - back)
                session.add(source)
            session.commit()

    def polls_of(steps) -> list[int]:
        return sorted(i for s in steps if s.step == "poll_batch" for i in s.arg["ids"])

    pipeline.refresh_roster(rt)
    lost = pipeline.due_sources(rt)  # beat's poll_due; the messages go nowhere
    ids = polls_of(lost)
    assert ids and pipeline.due_sources(rt) == []  # claimed: the next poll_due leaves them alone
    assert waiting(rt)["poll"] == len(ids)
    assert polls_of(reconcile(rt).steps) == []  # within the lease
    shift(poll_claimed_at=True)
    again = [s for s in reconcile(rt).steps if s.step == "poll_batch"]
    assert polls_of(again) == ids
    assert polls_of(reconcile(rt).steps) == []  # the lease restarted
    # The lost message was only slow: both copies arrive. The first takes the sources; the other
    # polls none of them while that poll runs; the first one's own retry may take them again.
    assert polls.take(rt, ids, force=False, token=lost[0].arg["token"]) == ids
    assert polls.take(rt, ids, force=False, token=again[0].arg["token"]) == []
    assert polls.take(rt, ids, force=False, token=lost[0].arg["token"]) == ids
    shift(poll_claimed_at=True)
    assert polls_of(reconcile(rt).steps) == []  # a poll is under way: not handed out again
    shift(poll_started_at=True)  # … until it has run past the lease: its worker was killed
    assert polls_of(reconcile(rt).steps) == ids
    drain(rt, deque(lost), CycleReport())
    assert not any(waiting(rt).values())
    assert pipeline.run_step(rt, "poll_batch", again[0].arg) == []  # polled since its claim: nothing to do
    shift(poll_claimed_at=True, poll_started_at=True)
    assert polls_of(reconcile(rt).steps) == []
    fgj = rt.endpoint.to("qinghe-fgj")
    assert len(fgj) == 1 and "ARI-01" in fgj[0]["message"]


def test_a_notice_that_keeps_failing_is_failed_work_like_any_other(rt):
    """A notice is tried NIANBAO_NOTICE_MAX_ATTEMPTS times (backoff between), then it is `failed`
    like any stopped work: the admins are told with the command, `status` lists it with the same
    `nianbao retry` command, and the retry sends it, attempts from zero."""
    rt.settings.notice_max_attempts = 2
    lost = run_losing(rt, {"deliver"})
    victim = next(s.arg for s in lost if s.step == "deliver")
    with session_scope(rt.db_url) as session:
        session.execute(update(Notice).where(Notice.id != victim).values(status="sent"))  # only this one in play
        session.commit()
    rt.endpoint.down = True
    for _ in range(rt.settings.notice_max_attempts):
        with session_scope(rt.db_url) as session:
            session.execute(update(Notice).where(Notice.id == victim).values(next_attempt_at=None))
            session.commit()
        drain(rt, deque([pipeline.Next("deliver", victim)]), CycleReport())
    with session_scope(rt.db_url) as session:
        notice = session.get(Notice, victim)
        assert notice.status == "failed" and notice.attempts == rt.settings.notice_max_attempts
        b = backlog(session, rt.settings)
    assert [(i.kind, i.id, i.command) for i in b.failed] == [("notice", victim, f"nianbao retry notice {victim}")]
    assert next(s for s in b.steps if s.step == "deliver").failed == 1
    rt.endpoint.down = False
    with session_scope(rt.db_url) as session:  # the admin notice was tried while the endpoint was down too
        session.execute(update(Notice).where(Notice.audience == "admins").values(next_attempt_at=None))
        session.commit()
    drain(rt, deque(pending_notices(rt)), CycleReport())  # the admins hear of it
    told = [m for m in rt.endpoint.to("admins") if f"nianbao retry notice {victim}" in m["message"]]
    assert len(told) == 1
    steps = retry(rt, "notice", victim)
    assert steps == [pipeline.Next("deliver", victim)]
    drain(rt, deque(steps), CycleReport())
    with session_scope(rt.db_url) as session:
        notice = session.get(Notice, victim)
        assert notice.status == "sent" and notice.attempts == 1
        assert backlog(session, rt.settings).failed == []


def test_a_poll_that_never_gets_done_is_given_up_for_its_claim_and_the_admins_hear(rt):
    """A source whose poll is handed out NIANBAO_MAX_ATTEMPTS times without being done (its worker
    dies each time) is given up for this claim: not handed out again, the admins hear of it once,
    and it is polled again at its next time (the claim's end)."""
    from models import Source

    rt.settings.max_attempts = 1
    pipeline.refresh_roster(rt)
    lost = pipeline.due_sources(rt)
    ids = sorted(i for s in lost for i in s.arg["ids"])

    def lease_passes() -> None:
        back = timedelta(seconds=rt.settings.lease("poll") + 1)
        with session_scope(rt.db_url) as session:
            for source in session.exec(select(Source)):
                source.poll_claimed_at -= back
                session.add(source)
            session.commit()

    lease_passes()
    first = reconcile(rt)
    assert sorted(i for s in first.steps if s.step == "poll_batch" for i in s.arg["ids"]) == ids
    lease_passes()  # handed out, lost again
    given_up = reconcile(rt)
    assert given_up.gave_up_polls == ids and not [s for s in given_up.steps if s.step == "poll_batch"]
    drain(rt, deque(given_up.steps), CycleReport())
    told = [m for m in rt.endpoint.to("admins") if "轮询多次未能完成" in m["title"] + m["message"]]
    assert len(told) == len(ids)
    assert waiting(rt)["poll"] == 0
    with session_scope(rt.db_url) as session:
        assert all(s.next_poll_at > utcnow() for s in session.exec(select(Source)))  # polled at its next time
        said = {row.slug: row.detail for row in agency_statuses(session, rt.today())}
    assert reconcile(rt).gave_up_polls == []
    # `status` says it of each agency whose source was given up, until the source is polled again.
    assert said and all("多次派发轮询均未完成" in detail for detail in said.values()), said
    drain(rt, deque(pipeline.due_sources(rt, all_sources=True)), CycleReport())
    with session_scope(rt.db_url) as session:
        assert not [row for row in agency_statuses(session, rt.today()) if "多次派发轮询均未完成" in row.detail]
