"""The overview as CSV and as an Excel workbook for the office: Chinese headers and labels,
dates as the office writes them, an empty cell left empty, and the roll-up by region.

A text cell that a spreadsheet would run as a formula (= + - @ first) is quoted with a
leading apostrophe; nothing else is touched.
"""

from __future__ import annotations

import csv
import io
from datetime import date

from notifications.dates import cn_date, cn_datetime
from notifications.labels import fetch_reason

# (row key, header). Row keys are the overview rows' (web/queries.overview) plus the *_text ones added here.
COLUMNS = [("slug", "单位代码"), ("name", "单位"), ("level_label", "层级"), ("region", "地区"), ("year", "报告年度"),
           ("state_label", "状态"), ("detail", "说明"), ("score", "得分"), ("grade", "等级"),
           ("coverage", "可判定（%）"), ("open_errors", "未整改错误"), ("open_warnings", "未整改警示"), ("open_other", "其他未整改"),
           ("overdue", "逾期未整改"), ("correct_by", "最早整改期限"), ("deadline", "发布截止日期"),
           ("days_to_deadline", "距截止天数"), ("published_on", "发布日期"), ("report_url", "年报地址"),
           ("last_fetch_text", "最近抓取（北京时间）"), ("fetch_text", "抓取情况")]
DATE_KEYS = ("correct_by", "deadline", "published_on")
REGION_COLUMNS = [("region", "地区"), ("agencies", "单位数"), ("due", "已到截止日"), ("on_time", "按期发布"),
                  ("late", "逾期发布"), ("missing", "逾期未发布"), ("pending", "未到截止日"), ("on_time_rate", "按期率（%）"),
                  ("mean_score", "平均得分"), ("open_errors", "未整改错误"), ("open_warnings", "未整改警示"),
                  ("overdue", "逾期未整改")]


def fetch_text(fetch: str | None) -> str:
    """The status rows' fetch field (ok | new | failed: reason; …) in words ("" when all is well)."""
    if not fetch or fetch == "ok":
        return ""
    if fetch == "new":
        return "尚未抓取"
    return "；".join(fetch_reason(part.strip()[len("failed:"):].strip()) for part in fetch.split("; failed:")
                    if part.strip()) or "抓取未成功"


def _safe(value):
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def csv_text(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([title for _, title in COLUMNS])
    for row in rows:
        cells = []
        for key, _ in COLUMNS:
            value = row.get(key)
            if value is None:
                cells.append("")
            elif key in DATE_KEYS:
                cells.append(cn_date(value))
            else:
                cells.append(_safe(value))
        writer.writerow(cells)
    return "\ufeff" + out.getvalue()  # the BOM lets Excel read the Chinese as UTF-8


def prepare(rows: list[dict]) -> list[dict]:
    """The *_text columns of the exports, from the overview rows."""
    for row in rows:
        row["last_fetch_text"] = cn_datetime(row.get("last_fetch")) if row.get("last_fetch") else None
        row["fetch_text"] = fetch_text(row.get("fetch")) or None
    return rows


def xlsx_bytes(rows: list[dict], by_region: list[dict], year: int) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)  # streams rows: thousands of agencies stay cheap
    bold = Font(bold=True)

    def header(sheet, columns):
        cells = []
        for _, title in columns:
            cell = WriteOnlyCell(sheet, value=title)
            cell.font = bold
            cells.append(cell)
        sheet.append(cells)

    sheet = book.create_sheet(f"{year}年度各单位")  # the report year, not the current one
    sheet.freeze_panes = "C2"
    widths = (12, 28, 10, 10, 8, 12, 30, 6, 6, 10, 10, 10, 10, 14, 14, 10, 14, 40, 20, 30)
    for i, width in enumerate(widths):
        sheet.column_dimensions[chr(ord("A") + i)].width = width
    header(sheet, COLUMNS)
    for row in rows:
        cells = []
        for key, _ in COLUMNS:
            value = row.get(key)
            if key in DATE_KEYS and value:
                cell = WriteOnlyCell(sheet, value=date.fromisoformat(value))
                cell.number_format = 'yyyy"年"m"月"d"日"'
                cells.append(cell)
            else:
                cells.append(_safe(value))  # None stays an empty cell
        sheet.append(cells)
    regions = book.create_sheet("按地区汇总")
    for i, width in enumerate((14,) + (10,) * (len(REGION_COLUMNS) - 1)):
        regions.column_dimensions[chr(ord("A") + i)].width = width
    header(regions, REGION_COLUMNS)
    for group in by_region:
        regions.append([_safe(group.get(key)) for key, _ in REGION_COLUMNS])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def regions_csv(by_region: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([title for _, title in REGION_COLUMNS])
    writer.writerows([("" if g.get(key) is None else _safe(g.get(key))) for key, _ in REGION_COLUMNS] for g in by_region)
    return "\ufeff" + out.getvalue()
