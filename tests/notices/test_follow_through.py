"""Notices people act on, against real endpoints on loopback: a real SMTP server (aiosmtpd) and a
real HTTP endpoint receiving Apprise json:// posts; the whole pipeline on SQLite and PostgreSQL."""

from __future__ import annotations

import email
import email.header
import json
import os
import shutil
import socket
import subprocess
import sys
from datetime import timedelta

import pytest
import yaml
from sqlmodel import select

from models import Deficiency, DeliveryAttempt, Notice, Silence
from models.db import session_scope
from tests.conftest import EXAMPLES, REPO
from worker.delivery import pending_notices, sweep_stale
from worker.runner import drain, run_cycle, CycleReport


class Mailbox:
    """A real SMTP server on loopback that keeps what it receives."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        sock.close()
        self.messages: list[tuple[list[str], email.message.Message]] = []
        mailbox = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                mailbox.messages.append((envelope.rcpt_tos, email.message_from_bytes(envelope.content)))
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def url(self, to: str) -> str:
        return f"mailto://127.0.0.1:{self.port}?from=nianbao@gkb.example.cn&to={to}&name=nianbao"

    def close(self):
        self.controller.stop()


@pytest.fixture
def mailbox():
    box = Mailbox()
    yield box
    box.close()



def subject(msg) -> str:
    return str(email.header.make_header(email.header.decode_header(msg["Subject"])))


def test_mail_to_an_agency_and_the_digest_to_the_office_by_real_smtp(rt, mailbox, tmp_path):
    data = yaml.safe_load(rt.settings.agencies_file.read_text(encoding="utf-8"))
    data["office"]["notify"] = [{"url": mailbox.url("gkb@shifan.example.cn"), "kinds": ["digest"]},
                                {"url": rt.endpoint.url("office"), "kinds": ["alert", "overdue"]}]
    for agency in data["agencies"]:
        if agency["slug"] == "qinghe-fgj":
            agency["notify"] = [mailbox.url("fgj@qinghe.example.cn")]
    rt.settings.agencies_file.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    run_cycle(rt)
    rcpts = {tuple(r) for r, m in mailbox.messages}
    assert rcpts == {("fgj@qinghe.example.cn",), ("gkb@shifan.example.cn",)}  # routing: the office mail gets the digest only
    notice = next(m for r, m in mailbox.messages if "2025年" in subject(m) and r == ["fgj@qinghe.example.cn"])
    assert subject(notice).startswith("【整改通知】青河区发展和改革局2025年政府信息公开工作年度报告存在")
    parts = {p.get_content_type(): p for p in notice.walk()}
    text = parts["text/plain"].get_payload(decode=True).decode("utf-8")
    assert "ARI-01" in text and "请于2026年7月21日前完成整改" in text
    assert "表三“一、本年新收”行自然人列：31 件" in text and "算式：31 + 2 = 33" in text and "apply." not in text
    assert "<strong>" in parts["text/html"].get_payload(decode=True).decode("utf-8")
    digest = next(m for r, m in mailbox.messages if r == ["gkb@shifan.example.cn"])
    assert subject(digest).startswith("【年报监测汇总】2026年6月30日：6个单位")
    attachment = next(p for p in digest.walk() if p.get_filename())
    csv_text = attachment.get_payload(decode=True).decode("utf-8-sig")
    header, *rows = csv_text.splitlines()
    assert header.startswith("地区,单位,层级,报告年度,状态") and "青河区生态环境局" in csv_text
    assert any(",逾期未发布," in row for row in rows) and not any(",missing," in row or ",'," in row for row in rows)
    office = rt.endpoint.to("office")
    assert office and all(m["title"].startswith("【年报监测】") for m in office)  # alerts only


def test_digest_sections_over_three_cycles_and_silences(rt):
    day = rt.settings.today
    run_cycle(rt)  # day 0: the first digest — everything is new
    first = rt.endpoint.to("office")[-1]
    assert "【年报监测汇总】" in first["title"] and "新增问题" in first["message"]
    assert "已整改（0项）" in first["message"] and "仍未整改（0项）" in first["message"]

    # Day 7: fgj corrects its report; an admin silences TXT-11 everywhere.
    rt.settings.today = day + timedelta(days=7)
    shutil.copyfile(EXAMPLES / "corrected" / "qinghe-fgj" / "nb2025.html",
                    next((rt.portals.root / "qinghe-fgj").rglob("nb2025.html")))
    with session_scope(rt.db_url) as session:
        session.add(Silence(agency_id=None, rule_id="TXT-11", until=day + timedelta(days=10), reason="错别字另行通报",
                            created_by="王科长"))
        session.commit()
    run_cycle(rt)
    second = [m for m in rt.endpoint.to("office") if "年报监测汇总" in m["title"]][-1]["message"]
    assert "新增问题（0项）" in second and "已整改（2项）" in second and "青河区发展和改革局" in second.split("四、已整改")[1]
    assert "仍未整改（" in second and "TXT-11：至2026年7月10日，错别字另行通报（王科长）" in second

    # Day 14: songlin-xian re-publishes with an arithmetic slip: new again; the silence has lapsed.
    rt.settings.today = day + timedelta(days=14)
    page = next((rt.portals.root / "songlin-xian").rglob("nb2025.html"))
    page.write_text(page.read_text(encoding="utf-8").replace(">51<", ">52<", 1), encoding="utf-8")
    run_cycle(rt)
    digests = [m for m in rt.endpoint.to("office") if "年报监测汇总" in m["title"]]
    assert len(digests) == 3
    third = digests[-1]["message"]
    assert "新增问题（0项）" not in third and "松林县人民政府" in third.split("二、新增问题")[1].split("三、")[0]
    assert "已整改（0项）" in third and "暂停通知" not in third


def test_silence_keeps_the_case_but_sends_nothing_until_it_expires(rt):
    day = rt.settings.today
    from worker import pipeline

    pipeline.refresh_roster(rt)
    with session_scope(rt.db_url) as session:
        from models import Agency

        qu = session.exec(select(Agency).where(Agency.slug == "qinghe-qu")).one()
        session.add(Silence(agency_id=qu.id, rule_id="TXT-03", until=day + timedelta(days=3), reason="已电话沟通",
                            created_by="李处长"))
        session.commit()
    run_cycle(rt)
    notice = rt.endpoint.to("qinghe-qu")[0]["message"]
    assert "TXT-03" not in notice and "STR-01" in notice
    with session_scope(rt.db_url) as session:
        case = session.exec(select(Deficiency).where(Deficiency.rule_id == "TXT-03")).one()
        assert case.state == "open"  # tracked, only not sent
        correct_by = case.correct_by
    # The reminder comes a few working days before the date; the silence has expired by then.
    rt.settings.today = correct_by - timedelta(days=1)
    run_cycle(rt)
    reminder = rt.endpoint.to("qinghe-qu")[-1]
    assert reminder["title"].startswith("【整改提醒】") and "TXT-03" in reminder["message"]


def test_escalation_ladder_reminder_then_office_then_overdue_in_digest(rt):
    run_cycle(rt)
    with session_scope(rt.db_url) as session:
        correct_by = session.exec(select(Deficiency).where(Deficiency.rule_id == "ARI-01")).first().correct_by
    rt.settings.today = correct_by - timedelta(days=1)
    run_cycle(rt)
    run_cycle(rt)  # a second daily run does not remind again
    reminders = [m for m in rt.endpoint.to("qinghe-fgj") if m["title"].startswith("【整改提醒】")]
    assert len(reminders) == 1 and "ARI-01" in reminders[0]["message"]
    rt.settings.today = correct_by + timedelta(days=1)
    run_cycle(rt)
    overdue = [m for m in rt.endpoint.to("office") if m["title"].startswith("【逾期未整改】")]
    assert any("青河区发展和改革局" in m["title"] for m in overdue)
    rt.settings.today = correct_by + timedelta(days=8)
    run_cycle(rt)
    digest = [m for m in rt.endpoint.to("office") if "年报监测汇总" in m["title"]][-1]
    assert "逾期未整改" in digest["title"] and "已逾期" in digest["message"]


def test_a_bad_address_fails_for_good_and_tells_the_admins(rt):
    data = yaml.safe_load(rt.settings.agencies_file.read_text(encoding="utf-8"))
    for agency in data["agencies"]:
        if agency["slug"] == "songlin-jyj":
            # The file is fine (checked with a placeholder for the secret), but the secret is not
            # set where the worker sends: Apprise cannot build the URL, which no retry changes.
            agency["notify"] = ["json://${NIANBAO_TEST_UNSET_HOOK}/jyj"]
    rt.settings.agencies_file.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    run_cycle(rt)
    run_cycle(rt)
    with session_scope(rt.db_url) as session:
        failed = session.exec(select(Notice).where(Notice.status == "failed")).all()
        assert [n.agency_id is not None for n in failed] == [True] and failed[0].attempts == 1
        attempts = session.exec(select(DeliveryAttempt).where(DeliveryAttempt.notice_id == failed[0].id)).all()
        assert len(attempts) == 1 and attempts[0].permanent
    admin = [m for m in rt.endpoint.to("admins") if "通知发送失败" in m["title"]]
    assert len(admin) == 1 and "松林县教育局" in admin[0]["title"]


def test_a_worker_that_died_mid_send_is_recorded_honestly_not_sent_again(rt):
    from sqlalchemy import update

    rt.endpoint.down = True
    run_cycle(rt)  # every notice pending after one failed attempt
    rt.endpoint.down = False
    with session_scope(rt.db_url) as session:
        victim = session.exec(select(Notice).where(Notice.kind == "deficiency")).first()
        # The state a worker leaves when it dies after sending, before recording: claimed long ago.
        from models.types import utcnow

        session.execute(update(Notice).where(Notice.id == victim.id)
                        .values(status="sending", claimed_at=utcnow() - timedelta(hours=1)))
        session.commit()
    rt.settings.today += timedelta(days=1)
    drain(rt, __import__("collections").deque(pending_notices(rt)), CycleReport())
    with session_scope(rt.db_url) as session:
        row = session.get(Notice, victim.id)
        assert row.status == "unknown" and "check with the recipient" in row.last_error
    assert all(m["title"] != victim.subject for m in rt.endpoint.received)
    assert sweep_stale(rt) == []  # swept once: no second admin notice either


def test_preview_renders_without_sending_and_list_masks_secrets(rt, tmp_path):
    data = yaml.safe_load(rt.settings.agencies_file.read_text(encoding="utf-8"))
    data["office"]["notify"].append("mailtos://gkb:${NIANBAO_TEST_SMTP_SECRET}@smtp.example.cn/?to=a@example.cn")
    rt.settings.agencies_file.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    env = {**os.environ, "NIANBAO_DATABASE_URL": rt.db_url, "NIANBAO_HOME": str(tmp_path / "home"),
           "NIANBAO_AGENCIES_FILE": str(rt.settings.agencies_file), "NIANBAO_TEST_SMTP_SECRET": "s3cr3t-pw",
           "NIANBAO_TODAY": rt.settings.today.isoformat()}
    os.environ["NIANBAO_TEST_SMTP_SECRET"] = "s3cr3t-pw"
    try:
        rt.endpoint.down = True  # keep everything pending: nothing reaches smtp.example.cn
        run_cycle(rt)
    finally:
        del os.environ["NIANBAO_TEST_SMTP_SECRET"]
    with session_scope(rt.db_url) as session:
        before = len(session.exec(select(Notice)).all())
        from models import Report

        report_id = session.exec(select(Report).where(Report.url.contains("qinghe-fgj/nb2025"))).one().id

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "cli.main", *args], capture_output=True, text=True, cwd=REPO,
                              env={**env, "COLUMNS": "200"}, timeout=60)

    preview = cli("notices", "preview", "--report", str(report_id))
    assert preview.returncode == 0, preview.stderr
    assert "【整改通知】青河区发展和改革局" in preview.stdout and "ARI-01" in preview.stdout
    with session_scope(rt.db_url) as session:
        assert len(session.exec(select(Notice)).all()) == before  # nothing saved, nothing sent
    listing = cli("notices", "list", "--json")
    assert listing.returncode == 0, listing.stderr
    rows = json.loads(listing.stdout)
    office = next(r for r in rows if r["audience"] == "office")
    assert "s3cr3t-pw" not in listing.stdout and any("smtp.example.cn" in t for t in office["targets"])
