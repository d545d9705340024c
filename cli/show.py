"""Terminal rendering of status rows and parsed reports (rich tables, Chinese as it is)."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from documents.report import SECTION_KEYS

STATE_STYLE = {"published": "green", "late": "yellow", "pending": "cyan", "missing": "red",
               "unreachable": "magenta", "unreadable": "red", "not_scored": "yellow", "not_fetched": "magenta"}
STATE_CN = {"published": "已按期公布", "late": "逾期公布", "pending": "未到期", "missing": "逾期未公布",
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


def print_parsed(console: Console, data: dict) -> None:
    meta = data["meta"]
    console.print(f"[bold]{escape(str(meta.get('title') or '（无标题）'))}[/bold]")
    console.print(f"单位 {escape(str(meta.get('agency')))} · 年度 {meta.get('year')} · 格式 {meta.get('template')}"
                  f" · 发布 {meta.get('published') or '未注明'}")
    sections = Table(title="部分", show_header=True)
    for col in ("", "标题", "字数", "行"):
        sections.add_column(col)
    for key, heading in SECTION_KEYS.items():
        s = data["sections"].get(key) or {}
        mark = "[green]✓[/]" if s.get("present") else "[red]✗ 缺失[/]"
        sections.add_row(mark, escape(s.get("heading") or heading), str(s.get("chars", 0)), str(s.get("line") or ""))
    console.print(sections)
    fields = Table(title=f"表格数据（{len(data['fields'])}项）")
    for col in ("字段", "值", "位置", "存疑"):
        fields.add_column(col, overflow="fold")
    for key, value in data["fields"].items():
        fields.add_row(key, str(value), escape(data["where"].get(key, "")), escape(data["doubtful"].get(key, "")))
    console.print(fields)
    for key, item in data.get("narrative", {}).items():
        console.print(f"正文数字 {key} = {item.get('value')}：[dim]{escape(str(item.get('quote', '')))}[/dim]")
    for p in data.get("problems", []):
        console.print(f"[yellow]问题[/] {escape(p.get('kind', ''))} @ {escape(p.get('where', ''))}: {escape(p.get('detail', ''))}")
