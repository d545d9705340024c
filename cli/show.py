"""Terminal rendering of status rows and parsed reports (rich tables, Chinese as it is)."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from documents.report import SECTION_KEYS

STATE_STYLE = {"ambiguous": "yellow", "needs_review": "yellow", "published": "green", "late": "yellow", "pending": "cyan", "missing": "red",
               "unreachable": "magenta", "unreadable": "red", "not_scored": "yellow", "not_fetched": "magenta"}
STATE_CN = {"ambiguous": "待人工确认", "needs_review": "待人工确认", "published": "已按期公布", "late": "逾期公布", "pending": "未到期", "missing": "逾期未公布",
            "unreachable": "网站无法访问", "unreadable": "无法解析", "not_scored": "未评分", "not_fetched": "未抓取"}


def status_table(rows, year: int | None = None) -> Table:
    table = Table(title=f"{year}年度报告 · 各单位状态" if year else "各单位状态", show_lines=False)
    for col in ("单位", "级别", "截止", "发布", "评分", "未整改（错/警/提）", "状态"):
        table.add_column(col, overflow="fold")
    for r in rows:
        open_issues = f"{r.open_errors} / {r.open_warnings} / {r.open_other}"
        state = STATE_CN.get(r.state, r.state) + (f"\n[dim]{escape(r.detail)}[/dim]" if r.detail else "")
        table.add_row(
            f"{escape(r.name)}\n[dim]{r.slug}[/dim]", "政府" if r.level == "government" else "部门",
            r.deadline[5:], r.published_on or "—",
            f"{r.score} {r.grade}" if r.score is not None else "—", open_issues,
            f"[{STATE_STYLE.get(r.state, 'white')}]{state}[/]")
    return table


APPLY_ROWS_CN = [
    ("new", "一、本年新收"), ("carried", "二、上年结转"), ("granted", "（一）予以公开"), ("partial", "（二）部分公开"),
    ("withheld.state_secret", "（三）1.国家秘密"), ("withheld.law_forbidden", "2.法律法规禁止"),
    ("withheld.security_stability", "3.三安全一稳定"), ("withheld.third_party", "4.第三方权益"),
    ("withheld.internal_affairs", "5.内部事务"), ("withheld.process_info", "6.过程性信息"),
    ("withheld.enforcement_file", "7.执法案卷"), ("withheld.inquiry", "8.行政查询"),
    ("unable.not_held", "（四）1.不掌握"), ("unable.needs_creation", "2.需另行制作"), ("unable.unclear", "3.补正后不明确"),
    ("rejected.petition", "（五）1.信访举报投诉"), ("rejected.repeat", "2.重复申请"), ("rejected.publication", "3.公开出版物"),
    ("rejected.mass_repeat", "4.大量反复申请"), ("rejected.confirm_existing", "5.确认或重新出具"),
    ("other.no_correction", "（六）1.逾期不补正"), ("other.unpaid_fee", "2.逾期未缴费"), ("other.other", "3.其他"),
    ("results_total", "（七）总计"), ("carry_forward", "四、结转下年度"),
]
APPLY_COLS = [("natural", "自然人"), ("business", "商业企业"), ("research", "科研机构"), ("nonprofit", "社会公益组织"),
              ("legal", "法律服务机构"), ("other_org", "其他"), ("total", "总计")]
APPEAL_PARTS = [("upheld", "维持"), ("corrected", "纠正"), ("other", "其他"), ("pending", "未审结"), ("total", "总计")]


def _value(data: dict, key: str) -> str:
    """A cell as shown: the number, "?" when doubtful, "·" when the report does not state it."""
    if key in data["doubtful"]:
        shown = data["fields"].get(key)
        return f"[yellow]{shown if shown is not None else '?'}?[/]"
    value = data["fields"].get(key)
    return "[dim]·[/]" if value is None else str(value)


def _grid(title: str, rows: list[tuple[str, str]], cols: list[tuple[str, str]], prefix: str, data: dict) -> Table | None:
    keys = [f"{prefix}{r}.{c}" for r, _ in rows for c, _ in cols]
    if not any(k in data["fields"] or k in data["doubtful"] for k in keys):
        return None
    table = Table(title=title, show_lines=False)
    table.add_column("")
    for _, label in cols:
        table.add_column(label, justify="right")
    for r, label in rows:
        cells = [_value(data, f"{prefix}{r}.{c}") for c, _ in cols]
        if any(c != "[dim]·[/]" for c in cells):
            table.add_row(label, *cells)
    return table


def _active_table(data: dict) -> Table | None:
    keys = sorted(k for k in data["fields"] if k.startswith(("active.", "active2019.")))
    if not keys:
        return None
    table = Table(title="二、主动公开（第二十条）")
    for col in ("项目", "栏目", "值"):
        table.add_column(col, justify="right" if col == "值" else "left")
    for key in keys:
        _, item, column = key.split(".")
        table.add_row(item, column, _value(data, key))
    return table


def print_parsed(console: Console, data: dict) -> None:
    """The parsed report as a reader checks it: meta, sections, the three tables as grids
    (· = not stated, ? = doubtful), prose numbers and problems."""
    meta = data["meta"]
    console.print(f"[bold]{escape(str(meta.get('title') or '（无标题）'))}[/bold]")
    console.print(f"单位 {escape(str(meta.get('agency')))} · 年度 {meta.get('year')} · 格式 {meta.get('template')}"
                  f" · 发布 {meta.get('published') or '未注明'} · 文件 {meta.get('format')}"
                  + (f" ({meta.get('charset')})" if meta.get("charset") else ""))
    sections = Table(title="部分", show_header=True)
    for col in ("", "标题", "字数", "行"):
        sections.add_column(col)
    for key, heading in SECTION_KEYS.items():
        s = data["sections"].get(key) or {}
        mark = "[green]✓[/]" if s.get("present") else "[red]✗ 缺失[/]"
        sections.add_row(mark, escape(s.get("heading") or heading), str(s.get("chars", 0)), str(s.get("line") or ""))
    console.print(sections)
    for table in (
        _active_table(data),
        _grid("三、收到和处理政府信息公开申请", APPLY_ROWS_CN, APPLY_COLS, "apply.", data),
        _grid("四、行政复议、行政诉讼", [("review", "行政复议"), ("litigation.direct", "直接起诉"),
                                 ("litigation.after_review", "复议后起诉")], APPEAL_PARTS, "", data),
    ):
        if table is not None:
            console.print(table)
    console.print(f"[dim]共 {len(data['fields'])} 项数据；· 未填写，? 存疑（规则不评）[/dim]")
    for key, why in data.get("doubtful", {}).items():
        console.print(f"[yellow]存疑[/] {key}: {escape(why)}")
    for key, item in data.get("narrative", {}).items():
        console.print(f"正文数字 {key} = {item.get('value')}：[dim]{escape(str(item.get('quote', '')))}[/dim]")
    for p in data.get("problems", []):
        console.print(f"[yellow]问题[/] {escape(p.get('kind', ''))} @ {escape(p.get('where', ''))}: {escape(p.get('detail', ''))}")
