"""Rendering in Chinese and delivery through Apprise to real endpoints on loopback."""

from datetime import date

from notifications import mask_url, render, send
from notifications.dates import add_working_days, cn_date
from notifications.outbox import set_outbox_dir


def _finding(**kw):
    base = dict(rule_id="ARI-01", subject="natural", severity="error", title="申请情况表勾稽关系",
                message="“自然人”列：一+二=33，（七）总计+四=32，相差1。", evidence={"where": ["三 一、本年新收"]},
                basis={"text": "国办公开办函〔2021〕30号 附表", "status": "VERIFIED"})
    base.update(kw)
    return base


def _context(**kw):
    ctx = dict(agency_name="青河区发展和改革局", office_name="示范市政务公开办", year=2025,
               findings=[_finding()], report_title="青河区发展和改革局2025年政府信息公开工作年度报告",
               report_url="http://example.org/nb.html", published_on=date(2026, 1, 22), sha256="ab" * 32,
               fetched_at="2026-06-30T10:00:00+00:00", score=90, grade="良", correct_by=date(2026, 7, 21),
               holidays_known=True, today=date(2026, 6, 30))
    ctx.update(kw)
    return ctx


def test_deficiency_notice_is_chinese_with_rule_id_evidence_and_dates():
    subject, body, html = render("deficiency", _context())
    assert subject == "【整改通知】青河区发展和改革局2025年政府信息公开工作年度报告存在1项问题"
    assert "（规则 ARI-01）" in body and "相差1" in body and "三 一、本年新收" in body
    assert "发布日期：2026年1月22日" in body and "请于2026年7月21日前完成整改" in body
    assert "节假日安排尚未公布" not in body


def test_agency_text_is_data_not_template():
    subject, body, html = render("deficiency", _context(agency_name="{{ 7*7 }}<b>"))
    assert "{{ 7*7 }}<b>" in subject and "49" not in subject


def test_chinese_dates_and_working_days():
    assert cn_date(date(2026, 3, 31)) == "2026年3月31日"
    # 2026 National Day holiday 10/1–10/7; 10/10 (Saturday) is a make-up working day.
    assert add_working_days(date(2026, 9, 30), 1) == (date(2026, 10, 8), True)
    # Past the package's data: plain weekdays, and it says so.
    end, known = add_working_days(date(2030, 6, 3), 5)
    assert end == date(2030, 6, 10) and known is False


def test_outbox_scheme_writes_a_readable_file(tmp_path):
    set_outbox_dir(tmp_path)
    result = send(["outbox://qinghe-fgj"], "【整改通知】测试", "正文：第一项")
    assert result.ok
    files = list((tmp_path / "qinghe-fgj").glob("*.txt"))
    assert len(files) == 1 and "正文：第一项" in files[0].read_text(encoding="utf-8")


def test_json_endpoint_receives_the_notice_and_a_down_endpoint_is_transient(endpoint):
    assert send([endpoint.url("office")], "主题", "内容").ok
    assert endpoint.to("office")[0]["title"] == "主题" and endpoint.to("office")[0]["message"] == "内容"
    endpoint.down = True
    result = send([endpoint.url("office")], "主题", "内容")
    assert not result.ok and not result.permanent and "503" in result.error


def test_bad_url_is_permanent_and_secrets_are_masked():
    result = send(["nosuchscheme://x"], "s", "b")
    assert not result.ok and result.permanent
    masked = mask_url("mailto://user:topsecret@example.org")
    assert "topsecret" not in masked
