"""Terminal rendering of status rows and parsed reports (rich tables, Chinese as it is)."""

from __future__ import annotations

from datetime import date

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from documents.report import SECTION_KEYS
from notifications.dates import cn_date
from notifications.labels import label
from rules.explain import doubt_reason
from rules.fields import (ACTIVE2019_COLUMNS, ACTIVE2019_ROWS, ACTIVE_COLUMNS, ACTIVE_ROWS, APPEAL_GROUP_LABELS,
                          APPEAL_OUTCOME_LABELS, APPLY_ROW_SHORT, COLUMN_LABELS, NARRATIVE_LABELS, cell_label)

STATE_STYLE = {"ambiguous": "yellow", "needs_review": "yellow", "published": "green", "late": "yellow", "pending": "cyan", "missing": "red",
               "unreachable": "magenta", "unreadable": "red", "not_scored": "yellow", "not_fetched": "magenta",
               "processing": "cyan", "work_failed": "red"}


def score_text(r) -> str:
    """"90 良" and, beside it, how much of the report the rules could judge."""
    if r.score is None:
        return "—"
    judged = f"\n[dim]可判定{r.coverage}%[/dim]" if r.coverage is not None else ""
    return f"{r.score}分 {r.grade}{judged}"


def status_table(rows, year: int | None = None) -> Table:
    table = Table(title=f"{year}年度报告 · 各单位状态" if year else "各单位状态", show_lines=False)
    for col in ("单位", "层级", "截止", "发布", "得分", "未整改（错误/警示/其他）", "状态"):
        table.add_column(col, overflow="fold")
    for r in rows:
        open_issues = f"{r.open_errors} / {r.open_warnings} / {r.open_other}"
        state = label("state", r.state) + (f"\n[dim]{escape(r.detail)}[/dim]" if r.detail else "")
        deadline = date.fromisoformat(r.deadline)
        table.add_row(
            f"{escape(r.name)}\n[dim]{r.slug}[/dim]", label("level", r.level),
            f"{deadline.month}月{deadline.day}日", cn_date(r.published_on) if r.published_on else "—",
            score_text(r), open_issues,
            f"[{STATE_STYLE.get(r.state, 'white')}]{state}[/]")
    return table


APPLY_COLS = list(COLUMN_LABELS.items())
APPEAL_PARTS = list(APPEAL_OUTCOME_LABELS.items())


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
    for _, heading in cols:
        table.add_column(heading, justify="right")
    for r, row_label in rows:
        cells = [_value(data, f"{prefix}{r}.{c}") for c, _ in cols]
        if any(c != "[dim]·[/]" for c in cells):
            table.add_row(row_label, *cells)
    return table


def _active_table(data: dict) -> Table | None:
    keys = sorted(k for k in data["fields"] if k.startswith(("active.", "active2019.")))
    if not keys:
        return None
    table = Table(title="二、主动公开（第二十条）")
    for col in ("项目", "栏目", "值"):
        table.add_column(col, justify="right" if col == "值" else "left")
    for key in keys:
        kind, item, column = key.split(".")
        rows, columns = (ACTIVE_ROWS, ACTIVE_COLUMNS) if kind == "active" else (ACTIVE2019_ROWS, ACTIVE2019_COLUMNS)
        table.add_row(rows.get(item, "其他"), columns.get(column, "其他"), _value(data, key))
    return table


def print_parsed(console: Console, data: dict) -> None:
    """The parsed report as a reader checks it: meta, sections, the three tables as grids
    (· = not stated, ? = doubtful), prose numbers and problems."""
    meta = data["meta"]
    console.print(f"[bold]{escape(str(meta.get('title') or '（无标题）'))}[/bold]")
    console.print(f"单位 {escape(str(meta.get('agency') or '未注明'))} · 年度 {meta.get('year') or '未注明'}"
                  f" · 格式 {label('template', meta.get('template') or 'unknown')}"
                  f" · 发布 {cn_date(meta['published']) if meta.get('published') else '未注明'}"
                  f" · 文件 {str(meta.get('format') or '').upper() or '未知'}"
                  + (f"（{str(meta.get('charset')).upper()}编码）" if meta.get("charset") else ""))
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
        _grid("三、收到和处理政府信息公开申请", list(APPLY_ROW_SHORT.items()), APPLY_COLS, "apply.", data),
        _grid("四、行政复议、行政诉讼", list(APPEAL_GROUP_LABELS.items()), APPEAL_PARTS, "", data),
    ):
        if table is not None:
            console.print(table)
    console.print(f"[dim]共 {len(data['fields'])} 项数据；· 未填写，? 存疑（规则不评）[/dim]")
    for key, why in data.get("doubtful", {}).items():
        console.print(f"[yellow]存疑[/] {cell_label(key)}：{escape(doubt_reason(why))}")
    for key, item in data.get("narrative", {}).items():
        console.print(f"正文数字 {NARRATIVE_LABELS.get(key, '其他')} {item.get('value')}：[dim]{escape(str(item.get('quote', '')))}[/dim]")
    from rules.audits import describe_problem

    for p in data.get("problems", []):
        console.print(f"[yellow]问题[/] {escape(describe_problem(p))}")
