"""A person never reads an internal code: every page, export and notice kind, rendered on the
demo's data over several days, is searched for field keys, status code words, None, Python
reprs, raw ISO timestamps and English words.

Left out, on purpose: URLs and e-mail addresses (they are addresses), user names, and what an
admin edits as code (elements marked class="code": rule file names and their YAML)."""

from __future__ import annotations

import io
import re
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient
from selectolax.lexbor import LexborHTMLParser as HTMLParser
from sqlmodel import select

from models import Agency, Notice, Report, Snapshot
from models.db import session_scope
from tests.conftest import REPO
from tests.test_config import BAD_TARGETS
from tests.web.conftest import DIRECTOR, csrf_from

FIELD_KEY = re.compile(r"\b(?:previous\.)?(?:apply|active|active2019|review|litigation|meta)\.[a-z_]")
CODES = """published late published_late pending missing unreachable ambiguous needs_review unreadable not_scored
not_fetched processing work_failed not_used broken never parsed fetched fetch_failed discovered not_evaluated fail pass sent sending failed unknown no_target
deficiency alert reminder overdue resolution digest admin admins office agency government department error warning
info open resolved listing feed document ok new VERIFIED CORROBORATED IMPLIED UNVERIFIED structure format arithmetic
timeliness text fees plausibility cross_year accessibility unsupported_format needs_ocr not_a_report too_large
parse_failed natural business research nonprofit legal other_org total viewer""".split()
CODE_WORD = re.compile(r"(?<![\w.-])(?:" + "|".join(sorted(CODES, key=len, reverse=True)) + r")(?![\w-])")
REPR = re.compile(r"\bNone\b|\bTrue\b|\bFalse\b|\bnull\b|\{'|'\}|\['|'\]|<\w[\w.]* object at|datetime\.|Decimal\(")
ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}|\b20\d\d-\d\d-\d\d\b")
ENGLISH = re.compile(r"\b[A-Za-z]{4,}\b")
ALLOWED_WORDS = {"nianbao", "Excel", "HTTP", "YAML"}
ADDRESS = re.compile(r"(?:https?|json|mailto|outbox|redis|rediss|amqp|postgresql|sqlite)://\S+|\S+@\S+\.\w+|/api/\S+|\?\w+=\S+")  # …and query strings
RULE_ID = re.compile(r"\b[A-Z]{2,5}-\d{2}[a-z]?\b")
COMMAND = re.compile(r"\bnianbao(?: --?[a-z][a-z-]*| [a-z][a-z-]*)+(?: \d+)?")  # a command to type, as it is typed
SLUG = re.compile(r"(?<![\w.-])(?:qinghe|songlin)-[a-z]+(?![\w-])|no-such")  # the roster's agency codes, typed in commands


def offences(text: str, where: str) -> list[str]:
    text = SLUG.sub(" ", RULE_ID.sub(" ", ADDRESS.sub(" ", COMMAND.sub(" ", text))))
    found = []
    for name, pattern in (("field key", FIELD_KEY), ("code word", CODE_WORD), ("repr/None", REPR),
                          ("raw ISO date", ISO_TIME)):
        for m in pattern.finditer(text):
            found.append(f"{where}: {name} {m.group(0)!r} in …{text[max(0, m.start() - 30):m.end() + 30]!r}…")
    for m in ENGLISH.finditer(text):
        if m.group(0) not in ALLOWED_WORDS:
            found.append(f"{where}: English word {m.group(0)!r} in …{text[max(0, m.start() - 30):m.end() + 30]!r}…")
    return found


def visible(html: str) -> str:
    """The text a person sees (and the tooltips and placeholders they read), without code they edit."""
    tree = HTMLParser(html)
    for node in tree.css("script, style, textarea, .code, input[type=hidden]"):
        node.decompose()
    said = [tree.body.text(separator=" ") if tree.body else ""]
    for node in tree.css("[title], [placeholder], [aria-label]"):
        said += [node.attributes.get(a) or "" for a in ("title", "placeholder", "aria-label")]
    return "\n".join(said)


def test_the_plain_chinese_checker_catches_what_it_is_for():
    for bad in ("位置：apply.new.natural", "状态 parsed", "已重新评分：{'steps': {}}", "发布日期 None", "2026-06-30T08:00",
                "not_evaluated", "抓取 failed: timeout", "检查 snapshot 7"):
        assert offences(bad, "sample"), bad
    assert not offences("表三“一、本年新收”行自然人列：31 件；规则 ARI-01；http://x.example.cn/a/total.html", "sample")
    assert not offences("处理后运行 nianbao retry snapshot 12；或 nianbao retry --failed", "sample")


@pytest.fixture(scope="module")
def pages(world, world_app):
    """Every page the console has, as the admin sees it (with its forms), plus what actions flash."""
    client = TestClient(world_app)
    token = csrf_from(client.get("/login").text)
    client.post("/login", data={"username": DIRECTOR[0], "password": DIRECTOR[1], "csrf_token": token, "next": "/"})
    with session_scope(world.db_url) as session:
        slugs = list(session.exec(select(Agency.slug)))
        regions = sorted({r for r in session.exec(select(Agency.region)) if r})
        reports = [(r.id, r.latest_snapshot_id) for r in session.exec(select(Report))]
        versions = [(s.report_id, s.id) for s in session.exec(select(Snapshot))]
        notice_ids = list(session.exec(select(Notice.id)))
    paths = ["/", "/?state=missing", "/?sort=score&order=desc", "/deficiencies", "/deficiencies?overdue=1",
             "/deficiencies?severity=warning", "/notices", "/notices?kind=alert", "/notices?agency=青河区发展和改革局",
             "/notices?agency=没有的单位", "/silences", "/rules", "/rules?file=arithmetic.yaml",
             "/agencies/no-such", f"/reports/{2**63}", "/reports/1?snapshot=99999", "/no-such-page"]
    paths += [f"/agencies/{s}" for s in slugs] + [f"/regions/{r}" for r in regions]
    paths += [f"/reports/{r}" for r, _ in reports] + [f"/reports/{r}?snapshot={s}" for r, s in versions]
    paths += [f"/notices/{n}" for n in notice_ids]
    out = {path: client.get(path) for path in paths}
    csrf = csrf_from(out["/"].text)
    # What the admin's actions answer, as the next page shows it.
    for action, data in (("/actions/silence", {"rule_id": "TXT-05", "until": "2099-12-31", "reason": "核实中",
                                               "agency": "qinghe-qu"}),
                         ("/actions/silence", {"rule_id": "TXT-05", "until": "2020-01-01", "reason": "过期"}),
                         (f"/actions/notices/{notice_ids[0]}/ack", {}), (f"/actions/notices/{notice_ids[0]}/ack", {}),
                         (f"/actions/notices/{notice_ids[0]}/resend", {}), ("/actions/agencies/qinghe-fgj/repoll", {}),
                         ("/actions/rescore", {"agency": "qinghe-fgj"}), ("/actions/silence", {"until": "x"})):
        r = client.post(action, data={"csrf_token": csrf, **data}, headers={"referer": "http://testserver/silences"})
        out[f"POST {action} {sorted(data)}"] = r
    original = (world.rules.directory / "timeliness.yaml").read_text(encoding="utf-8")
    out["POST /rules/diff"] = client.post("/rules/diff", data={
        "csrf_token": csrf, "file": "timeliness.yaml", "year": 2025,
        "content": original.replace("severity: warning", "severity: error", 1)})
    out["POST /rules/diff (typo)"] = client.post("/rules/diff", data={
        "csrf_token": csrf, "file": "timeliness.yaml", "year": 2025, "content": original.replace("severity:", "sevrity:", 1)})
    anonymous = TestClient(world_app)
    out["/login"] = anonymous.get("/login")
    return client, out


def test_every_page_and_answer_is_in_plain_chinese(pages):
    client, out = pages
    problems = []
    for path, r in out.items():
        assert r.status_code in (200, 400, 404, 422), (path, r.status_code)
        if path == "POST /rules/diff (typo)":
            assert r.status_code == 422 and 'class="code"' in r.text  # the file:line message is the admin's code
        problems += offences(visible(r.text), path)
    assert not problems, "\n".join(problems[:40])


def test_every_notice_kind_is_in_plain_chinese(world):
    with session_scope(world.db_url) as session:
        notices = list(session.exec(select(Notice)))
    kinds = {n.kind for n in notices}
    assert kinds >= {"deficiency", "alert", "missing", "admin", "digest", "reminder", "overdue", "resolution"}, kinds
    problems = []
    for n in notices:
        problems += offences(n.subject, f"notice {n.id} ({n.kind}) subject")
        problems += offences(n.body, f"notice {n.id} ({n.kind}) body")
        if n.body_html:
            problems += offences(visible(n.body_html), f"notice {n.id} ({n.kind}) html")
        if n.attachment:
            problems += offences(n.attachment, f"notice {n.id} ({n.kind}) attachment {n.attachment_name}")
    assert not problems, "\n".join(problems[:40])


def test_every_export_is_in_plain_chinese(pages):
    from openpyxl import load_workbook

    client, _ = pages
    problems = []
    for path in ("/api/agencies.csv", "/api/agencies.csv?state=missing", "/api/regions.csv"):
        r = client.get(path)
        assert r.status_code == 200
        problems += offences(r.content.decode("utf-8-sig"), path)
    book = load_workbook(io.BytesIO(client.get("/api/agencies.xlsx").content), read_only=True)
    for sheet in book.worksheets:
        problems += offences(sheet.title, "xlsx sheet name")
        for row in sheet.iter_rows(values_only=True):
            problems += offences(" ".join(str(v) for v in row if isinstance(v, str)), f"xlsx {sheet.title}")
    assert not problems, "\n".join(problems[:40])


def test_the_command_line_speaks_plain_chinese(world):
    env = {"NIANBAO_DATABASE_URL": world.db_url, "NIANBAO_TODAY": world.today().isoformat(),
           "NIANBAO_AGENCIES_FILE": str(world.settings.agencies_file), "NIANBAO_HOME": str(world.settings.home),
           "NIANBAO_ALLOW_PRIVATE_HOSTS": "1", "COLUMNS": "500"}  # wide: addresses are not wrapped
    import os

    with session_scope(world.db_url) as session:
        report_id = session.exec(select(Report.id).where(Report.url.contains("qinghe-qu/nb2025"))).one()
    proposed = world.settings.home / "proposed-rules"  # a rule made an error: what `rules diff` says of it
    if not proposed.exists():
        import shutil

        shutil.copytree(world.rules.directory, proposed)
        timeliness = proposed / "timeliness.yaml"
        timeliness.write_text(timeliness.read_text(encoding="utf-8").replace("severity: warning", "severity: error", 1),
                              encoding="utf-8")
    problems = []
    rules = str(world.rules.directory)
    for args in (["status"], ["notices", "list", "--limit", "200"], ["digest"], ["notices", "preview", "--report", str(report_id)],
                 ["rules", "diff", "--against", str(proposed), "--current", rules],
                 # the admins' authoring tools: what they say when all is well
                 ["rules", "check", rules], ["rules", "test", rules],
                 ["agencies", "check", "--no-resolve", str(world.settings.agencies_file)], ["db", "upgrade"]):
        run = subprocess.run([sys.executable, "-m", "cli.main", *args], capture_output=True, text=True, cwd=REPO,
                             env={**os.environ, **env}, timeout=180)
        assert run.returncode == 0, (args, run.stderr)
        problems += offences(for_people(run.stdout), "nianbao " + " ".join(args))
    assert not problems, "\n".join(problems[:40])


def for_people(output: str) -> str:
    """The CLI prints slugs to type back into it and file paths (with file:line); the rest is for people."""
    return re.sub(r"\b[a-z]+(?:-[a-z]+)+\b", " ", re.sub(r"(?:[\w+]+:)?/\S*", " ", output))


def test_the_authoring_commands_say_what_is_wrong_in_chinese(tmp_path):
    """A rule test that fails, an agencies file with a mistake and `nianbao run --once` (its cycle
    summary, before: "cycle done in 0.1s: {'poll': 0}") speak to the admin in sentences."""
    import os
    import shutil

    rules, home = tmp_path / "rules", tmp_path / "home"
    shutil.copytree(REPO / "rules/library", rules)
    case = rules / "tests/timeliness.yaml"
    text = case.read_text(encoding="utf-8").replace("{rule: TIM-03, status: pass}", "{rule: TIM-03, status: fail}", 1)
    # a case's name is the admin's own words: here, Chinese ones
    text = text.replace('TIM-03 "均已在法定期限内予以答复" passes; nothing about extensions says nothing', "TIM-03 写明均已按期答复", 1)
    case.write_text(text, encoding="utf-8")
    roster = tmp_path / "agencies.yaml"
    roster.write_text("office: {name: 示范市政务公开办}\nagencies: []\n", encoding="utf-8")
    env = {**os.environ, "NIANBAO_HOME": str(home), "NIANBAO_AGENCIES_FILE": str(roster), "COLUMNS": "500",
           "NIANBAO_DATABASE_URL": "", "NIANBAO_BROKER_URL": ""}

    def nianbao(*args):
        return subprocess.run([sys.executable, "-m", "cli.main", *args], capture_output=True, text=True, cwd=REPO,
                              env=env, timeout=180)

    tested = nianbao("rules", "test", str(rules))
    assert tested.returncode == 1 and "应为 TIM-03（全文）“不符合”，实际为“符合”" in tested.stderr, tested.stderr
    bad = tmp_path / "bad-agencies.yaml"
    bad.write_text("office: {name: 示范市政务公开办}\nagencies:\n  - slug: qinghe-qu\n    nam: 青河区人民政府\n",
                   encoding="utf-8")
    checked = nianbao("agencies", "check", "--no-resolve", str(bad))
    assert checked.returncode == 1 and f"{bad}:4: 第1个单位中有不认识的键“nam” — 是否应为“name”？" in checked.stderr
    assert f"{bad}:3: 第1个单位缺少 level" in checked.stderr and "有 4 处错误" in checked.stderr, checked.stderr
    ran = nianbao("run", "--once")
    assert ran.returncode == 0 and "巡检完成" in ran.stdout, ran.stderr
    problems = offences(for_people(tested.stdout + tested.stderr), "nianbao rules test (a failing case)")
    problems += offences(for_people(ran.stdout), "nianbao run --once")
    assert not problems, "\n".join(problems[:40])


TYPED = re.compile(r"'[^'\n]*'|\S+\.ya?ml(?::\d+)?")  # what the admin types: quoted YAML, file:line


def for_admins(output: str) -> str:
    """A rule file problem without what the admin types (quoted YAML as written, file:line)."""
    return for_people(TYPED.sub(" ", output))


def test_every_rule_file_problem_is_a_chinese_sentence():
    """Each entry of the one table of rule file problems, filled in, says it in Chinese: the YAML
    the admin types is quoted, the rest is a sentence (before: "unknown key 'severty' in a rule")."""
    import string

    from rules.wording import PROBLEMS, text_of

    plain = {"where": "规则", "rule": "规则 'ARI-01' ", "what": "分值", "reason": "无法识别", "first": "a.yaml:1",
             "example": "1", "length": 4100, "limit": 4000, "depth": 101, "column": 3, "statuses": ["pass", "fail"]}
    problems = []
    for code, (message, hint) in PROBLEMS.items():
        names = {name for t in (message, hint) for _, name, _, _ in string.Formatter().parse(t) if name}
        said = " ".join(text_of(code, {n: plain.get(n, ["severity", "weight"] if n.endswith("s") else "severty")
                                       for n in names}))
        assert re.search(r"[\u4e00-\u9fff]", said), code
        problems += offences(for_admins(said), code)
    assert not problems, "\n".join(problems)


def refused(*args: str, env: dict[str, str]) -> str:
    """What a `nianbao` command that finds the input wrong says (it exits 1, without a traceback)."""
    run = subprocess.run([sys.executable, "-m", "cli.main", *args], capture_output=True, text=True, cwd=REPO,
                         env={**env, "COLUMNS": "500"}, timeout=180)
    assert run.returncode == 1 and "Traceback" not in run.stderr, run.stderr
    return run.stderr


def _rule(rule_id: str, check: str) -> str:
    """A rule that is right but for its check (written after ``check:``)."""
    return (f"- id: {rule_id}\n  title: t\n  severity: error\n  category: arithmetic\n"
            f"  basis: {{text: x, status: VERIFIED}}\n  applies: {{templates: [\"2021\"], levels: [government]}}\n"
            f"  check:{check}\n")


BROKEN_RULES = {
    "typos.yaml": """\
- id: ARI-01
  title: 测试规则
  severty: error
  weight: 十分
  category: arithmetics
  basis: {text: 测试依据, status: PROVEN}
  applies: {templates: ["2021", "2019"], levels: [goverment, department]}
  check: {kind: expresion}
- id: ARI-2
  title: ""
  severity: critical
  category: arithmetic
  message: 逾期{days_lat}天
""",
    "types.yaml": """\
- id: TXT-01
  title: [不是文字]
  severity: info
  category: text
  basis: 条例
  applies: {templates: "2021", levels: []}
  check: {kind: pattern, patterns: ["(未闭合", {regex: "x*"}], context: -1, max_quotes: yes}
- id: TXT-02
  title: t
  severity: info
  weight: 200
  category: text
  basis: {text: x, status: VERIFIED}
  applies: {templates: ["2021"], levels: [government], since: 1900}
  check: {kind: sections, required: [overveiw], min_chars: -1, in_order: maybe}
- just a string
""",
    "expressions.yaml": "".join(_rule(rule_id, check) for rule_id, check in (
        ("ARI-02", "\n    kind: expression\n    assert: apply.new.totl == apply.new.natural ** 2"),
        ("ARI-03", """ {kind: expression, assert: "__import__('os').getcwd() == 1", for_each: {left: [a]}}"""),
        ("ARI-04", """ {kind: expression, assert: "apply.new.{col} + == 3 'x'", tolerance: -1}"""),
        ("ARI-05", """ {kind: expression, assert: "apply.new.total + 1", when: "apply.new.total[0] > x"}"""),
        ("ARI-06", "\n    kind: expression\n    assert: apply.new.total == " + " + ".join(["1"] * 400)))),
    "nested.yaml": "[" * 3000 + "]" * 3000 + "\n",
    "syntax.yaml": "- id: X-01\n  title: [未闭合\n",
    "tabs.yaml": "- id: X-02\n\ttitle: t\n",
    "duplicate.yaml": "- id: X-03\n  title: a\n  title: b\n",
    "scoring.yaml": "grades: {优: 90, 良: 75}\nblank_cells: zeros\ncategory_caps: {arithmetc: 30}\nmin_coverage: 200\n"
                    "best_grade_with_errors: 好\nweights: {}\n",
}


def test_rules_check_says_what_is_wrong_in_a_broken_rule_file_in_chinese(tmp_path):
    """`nianbao rules check` on rule files with typos, wrong types, bad and hostile expressions,
    nesting too deep, broken YAML and a bad scoring.yaml: every problem at its file:line, in
    Chinese sentences around the YAML the admin types."""
    import os

    rules = tmp_path / "rules"
    rules.mkdir()
    for name, text in BROKEN_RULES.items():
        (rules / name).write_text(text, encoding="utf-8")
    said = refused("rules", "check", str(rules), env=dict(os.environ))
    for line in ("rules/typos.yaml:3: 规则中有未知的键 'severty' — 是否想写 'severity'？",
                 "rules/typos.yaml:4: 'weight' 应是 0 到 100 的整数分值，而不是 '十分'",
                 "rules/typos.yaml:8: 未知的检查类型 'expresion' — 是否想写 'expression'？",
                 "rules/typos.yaml:9: 规则 'ARI-2' 缺少 'basis'",
                 "rules/types.yaml:7: 正则表达式 '(未闭合' 有误：圆括号不成对",
                 "rules/expressions.yaml:9: 未知的字段键 'apply.new.totl' — 是否想写 'apply.new.total'？",
                 "rules/expressions.yaml:16: 表达式中不能调用",
                 "rules/expressions.yaml:39: 表达式嵌套 402 层，超过上限 100 层",
                 "rules/nested.yaml: 嵌套层次过深，无法读取",
                 "rules/syntax.yaml:3: YAML 格式有误",
                 "rules/tabs.yaml:2: YAML 格式有误：含有制表符（Tab）；缩进只能用空格",
                 "rules/duplicate.yaml:3: 键 'title' 重复出现",
                 "rules/scoring.yaml:6: 'scoring.yaml' 中有未知的键 'weights'"):
        assert line in said, (line, said)
    count = int(re.search(r"规则文件中有 (\d+) 处问题", said).group(1))
    assert count >= 40, said
    problems = offences(for_admins(said), "nianbao rules check (broken rules)")
    assert not problems, "\n".join(problems[:40])


BAD_AGENCIES = BAD_TARGETS.replace(  # tests/test_config.py's bad notice targets and hosts, and more
    '{url: "jsn://hooks.example.org/admins", kinds: [admin]}',
    '{url: "jsn://hooks.example.org/admins", kinds: [admins, alert], min_severity: severe}\n    - {kinds: [admin]}'
).replace("level: department", "level: departmnt").replace(
    "files.qinghe.example.org/gknb/\n", "files.qinghe.example.org/gknb/\n        kind: listin\n") + """\
    polling: {dense_minutes: often, jitter: 2, windows: [Jan], every: 5}
    deadline: 1月31日
    rulemaking: maybe
  - slug: Qinghe FGJ
    nam: 青河区
    sources: []
"""
AGENCY_KEYS_TYPED = re.compile(r"\b(?:office|agencies|name|notify|admins|url|kinds|min_severity|slug|level|region|"
                               r"sources|allowed_hosts|deadline|rulemaking|polling|kind|sparse_minutes|dense_minutes|"
                               r"windows|jitter|export)\b")


def test_agencies_check_says_what_is_wrong_in_a_bad_agencies_file_in_chinese(tmp_path):
    """`nianbao agencies check` on a file with bad notice targets (no such service, a service's URL
    missing its parts), allowed hosts matching no source, a source on a private address, bad polling
    and the usual typos: Chinese sentences around what the admin wrote (before: "notice target
    'wecom://': Apprise cannot use it as a Pushplus URL (The Pushplus token () is invalid.)")."""
    import os

    bad = tmp_path / "agencies.yaml"
    bad.write_text(BAD_AGENCIES, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("SMTP_PASSWORD", "DING_TOKEN")}
    said = refused("agencies", "check", "--no-resolve", str(bad), env=env)
    for line in (":4: 通知接收地址“notaschema://foo”：没有名为 notaschema:// 的通知服务",
                 ":5: 通知接收地址“wecom://”缺少内容或写法不对，不能用作“Pushplus”服务的地址",
                 ":8: 通知接收地址“jsn://hooks.example.org/admins”：没有名为 jsn:// 的通知服务 — 是否应为 json://",
                 ":16: 警示：年报栏目地址“http://10.2.3.4/gknb/”在内网或本机上",
                 "不在其 allowed_hosts（", ":19: 警示：allowed_hosts 中的“qinghe.exmple.cn”",
                 ":21: 单位 qinghe-fgj的 polling 中 dense_minutes 应是不小于 1 的整数（分钟数），而不是“often”",
                 "polling 中 jitter 应是 0 到 0.5 之间的数", "polling 中时段“Jan”不是“月-日..月-日”的写法"):
        assert line in said, (line, said)
    assert "invalid" not in said and "Apprise" not in said  # what Apprise said stays in the log
    text = for_people(re.sub(r"“[^”]*”|'[^'\n]*'", " ", said))  # what the admin wrote, quoted
    text = re.sub(r"[a-z0-9]+(?:-[a-z0-9]+)+|[\w-]+(?:\.[\w-]+)+", " ", text)  # slugs and host names, as written
    problems = offences(AGENCY_KEYS_TYPED.sub(" ", text), "nianbao agencies check (a bad file)")
    assert not problems, "\n".join(problems[:40])
