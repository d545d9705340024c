"""Rendering in Chinese and delivery through Apprise to real endpoints on loopback."""

from datetime import date

from notifications import mask_url, render, send
from notifications.dates import add_working_days, cn_date
from notifications.outbox import set_outbox_dir


def _finding(**kw):
    base = dict(rule_id="ARI-01", subject="natural", severity="error", title="申请情况表勾稽关系",
                message="“自然人”列：一+二=33，（七）总计+四=32，相差1。", evidence={"where": ["三 一、本年新收"]},
                basis={"text": "国办公开办函〔2021〕30号 附表", "status": "VERIFIED"},
                points=["涉及的数据：表三“一、本年新收”行自然人列：31 件。", "算式：31 + 2 = 33；30 + 2 = 32；两者相差 1。"],
                basis_text="国办公开办函〔2021〕30号 附表", subject_label="自然人列")
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
    assert "（规则 ARI-01）" in body and "相差1" in body and "表三“一、本年新收”行自然人列：31 件" in body
    assert "算式：31 + 2 = 33" in body and "依据：国办公开办函〔2021〕30号 附表" in body
    assert "算式：31 + 2 = 33" in html
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


def test_deficiency_notice_never_shows_field_keys_as_positions():
    """Old templates wrote "位置：apply.new.natural；…" from the evidence; the worker now passes sentences."""
    finding = _finding(evidence={"where": {"apply.new.natural": "三 一、本年新收 / 自然人, line 39"}})
    subject, body, html = render("deficiency", _context(findings=[finding]))
    assert "apply." not in body and "apply." not in html and "位置：" not in body


def _digest_context(**kw):
    case = dict(agency="青河区发展和改革局", rule_id="ARI-01", title="勾稽关系", severity="error",
                correct_by=date(2026, 6, 1), overdue=True)
    ctx = dict(office_name="示范市政务公开办", year=2025, period_start=date(2026, 6, 1), period_end=date(2026, 6, 30),
               rows=[], by_region=[], new=[], still_open=[case, dict(case, agency="松林县教育局", rule_id="TIM-01")],
               resolved=[], overdue=[case], silences=[], unknown_notices=[], today=date(2026, 6, 30))
    ctx.update(kw)
    return ctx


def test_digest_lists_each_overdue_case_on_its_own_line():
    """The old template's `{% endif %}` at the end of the line swallowed the newline (trim_blocks)."""
    subject, body, html = render("digest", _digest_context())
    lines = [line for line in body.splitlines() if "已逾期" in line]
    assert len(lines) == 2, body
    assert lines[0].startswith("- 【错误】青河区发展和改革局") and lines[1].startswith("- 【错误】松林县教育局")


def test_outbox_file_names_keep_the_whole_subject(tmp_path):
    """Names used to be cut at 16 characters, in the middle of a name or a year (…发展和改革局20.txt)."""
    set_outbox_dir(tmp_path)
    title = "【整改通知】青河区发展和改革局2025年政府信息公开工作年度报告存在2项问题"
    assert send(["outbox://qinghe-fgj"], title, "正文").ok
    (path,) = (tmp_path / "qinghe-fgj").glob("*.txt")
    assert path.name.endswith("-整改通知_青河区发展和改革局2025年政府信息公开工作年度报告存在2项问题.txt")
    from notifications.outbox import file_title

    long = file_title("【年报监测汇总】" + "，".join(f"第{i}项说明文字" for i in range(20)))
    assert len(long) <= 60 and long.endswith("说明文字")  # cut between words, not inside one


def test_one_table_of_labels():
    from notifications.labels import fetch_reason, label

    assert label("state", "missing") == "逾期未发布" and label("notice_kind", "deficiency") == "整改通知"
    assert label("severity", "warning") == "警示" and label("audience", "admins") == "系统管理员"
    assert label("state", None) == "" and label("state", "brand_new") == "brand_new"  # unknown: the test suites catch it
    assert fetch_reason("HTTP 404 from http://x.example.cn/nb.html") == "网站返回错误（HTTP 404，页面不存在）：http://x.example.cn/nb.html"
    assert fetch_reason("timed out fetching http://x.example.cn/ (ReadTimeout)") == "连接超时：http://x.example.cn/"
    assert fetch_reason("listing page http://x/a: HTTP 503 from http://x/a").startswith("年报栏目页 http://x/a 未能读取（网站返回错误")
    assert fetch_reason("something odd happened") == "抓取未成功"


def test_times_are_beijing_time_whatever_the_hosts_zone(monkeypatch):
    import time
    from datetime import datetime, timezone

    from notifications.dates import cn_datetime, relative

    for zone in ("UTC", "America/New_York"):
        monkeypatch.setenv("TZ", zone)
        time.tzset()
        assert cn_datetime("2026-06-30T17:05:00+00:00") == "2026年7月1日 01:05"
        assert cn_date(datetime(2026, 6, 30, 17, 5, tzinfo=timezone.utc)) == "2026年7月1日"
    monkeypatch.delenv("TZ")
    time.tzset()
    now = datetime(2026, 6, 30, 12, 0, tzinfo=timezone.utc)
    assert relative(datetime(2026, 6, 30, 9, 0, tzinfo=timezone.utc), now) == "3 小时前"
    assert relative(datetime(2026, 6, 30, 11, 59, 30, tzinfo=timezone.utc), now) == "刚刚"
    assert relative(datetime(2026, 6, 28, 12, 0, tzinfo=timezone.utc), now) == "2 天前"


def test_a_stored_error_is_said_by_its_kind():
    """What stopped work or a notice is stored as the program or the provider said it (English);
    people read a Chinese sentence chosen by its kind, and nothing of the stored text."""
    from notifications.labels import error_said

    said = {
        "FileNotFoundError: [Errno 2] No such file or directory: '/blobs/ab/cd'": "读取存档文件出错（文件缺失或没有权限）",
        "sqlalchemy.exc.OperationalError: (psycopg.OperationalError) password authentication failed": "数据库暂时无法访问或出错",
        "KeyError: 'password'": "程序内部出错",
        "RecursionError: maximum recursion depth exceeded": "文件结构嵌套过深，超出处理上限",
        "no target is configured for digest notices": "没有为这类通知配置接收地址",
        "not a valid Apprise URL: jsn://hooks.example.org": "通知接收地址无效（可用 nianbao agencies check 检查单位名录）",
        "Failed to send to mailto: 535 5.7.8 Authentication failed": "通知服务拒绝登录（请检查用户名、密码或令牌）",
        "Sending JSON to hooks.example.org failed: 503 - Service Unavailable (HTTP 503)": "通知服务返回错误（HTTP 503）",
        "the worker stopped between sending and recording; check with the recipient before re-sending":
            "发送后、记录结果前工作进程中断，不知道是否已送达；重发前请向收件人核实",
        "多次重新派发后仍未完成（处理该步骤的进程可能中途退出，请查看工作进程日志）":
            "多次重新派发后仍未完成（处理该步骤的进程可能中途退出，请查看工作进程日志）",
        "": "原因未记录", "something odd happened": "处理时出错（详情见日志）",
    }
    assert {error: error_said(error) for error in said} == said
