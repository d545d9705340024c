"""The office's questions answered from the overview rows: who has not published and how late,
which reports are deficient and since when, what is overdue for correction; both deadlines
counted down; the roll-up by region; the charts. Pure functions of the rows (no database):
the page, the exports and the API share them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from notifications.dates import days_phrase
from rules import report_deadline
from web.charts import Bar, bar_chart, histogram

DUE_STATES = ("published", "late", "missing", "unreachable", "ambiguous", "needs_review", "unreadable", "not_scored",
              "not_fetched", "processing", "work_failed")  # every state an agency can be in once its deadline has passed, but "pending"
PUBLISHED = ("published", "late", "unreadable", "not_scored", "not_fetched", "ambiguous", "needs_review", "processing",
             "work_failed")
SCORE_BANDS = [(0, 59, "60以下", "bad"), (60, 69, "60–69", "warn"), (70, 79, "70–79", "warn"),
               (80, 89, "80–89", "base"), (90, 100, "90–100", "good")]
NO_REGION = "未分区"


@dataclass
class Countdown:
    level: str
    label: str
    deadline: date
    days: int
    phrase: str
    agencies: int
    not_published: int
    local: int  # agencies of this level with a local deadline of their own


def countdowns(rows: list[dict], year: int, today: date) -> list[Countdown]:
    """Both statutory deadlines (departments 1月31日, governments 3月31日), each with how many of
    its agencies have not published yet."""
    out = []
    for level, label in (("department", "政府部门"), ("government", "人民政府")):
        deadline = report_deadline(level, year)
        mine = [r for r in rows if r["level"] == level]
        local = sum(1 for r in mine if r["deadline"] != deadline.isoformat())
        out.append(Countdown(level, label, deadline, (deadline - today).days, days_phrase((deadline - today).days),
                             len(mine), sum(1 for r in mine if r["state"] in ("pending", "missing", "unreachable")),
                             local))
    return out


def summary(rows: list[dict]) -> dict:
    """The figures at the top of the page."""
    missing = [r for r in rows if r["state"] == "missing"]
    scored = [r["score"] for r in rows if r["score"] is not None]
    return {
        "agencies": len(rows),
        "published": sum(1 for r in rows if r["state"] in PUBLISHED),
        "on_time": sum(1 for r in rows if r["state"] == "published"),
        "late": sum(1 for r in rows if r["state"] == "late"),
        "missing": len(missing),
        "most_late": max((-r["days_to_deadline"] for r in missing), default=0),
        "pending": sum(1 for r in rows if r["state"] == "pending"),
        "unreachable": sum(1 for r in rows if r["state"] == "unreachable"),
        "deficient": sum(1 for r in rows if r["open_errors"] or r["open_warnings"]),
        "open_errors": sum(r["open_errors"] for r in rows),
        "open_warnings": sum(r["open_warnings"] for r in rows),
        "overdue": sum(r.get("overdue", 0) for r in rows),
        "overdue_agencies": sum(1 for r in rows if r.get("overdue")),
        "mean_score": round(sum(scored) / len(scored), 1) if scored else None,
    }


def regions(rows: list[dict]) -> list[dict]:
    """The roll-up by region: agencies, on-time rate among those due, mean score, open and overdue."""
    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault(r["region"] or NO_REGION, []).append(r)
    out = []
    for name, mine in sorted(groups.items()):
        due = [r for r in mine if r["state"] in DUE_STATES]
        scored = [r["score"] for r in mine if r["score"] is not None]
        on_time = sum(1 for r in due if r["state"] == "published")
        out.append({
            "region": name, "agencies": len(mine), "due": len(due), "on_time": on_time,
            "late": sum(1 for r in mine if r["state"] == "late"),
            "missing": sum(1 for r in mine if r["state"] == "missing"),
            "pending": sum(1 for r in mine if r["state"] == "pending"),
            "on_time_rate": round(100 * on_time / len(due)) if due else None,
            "mean_score": round(sum(scored) / len(scored), 1) if scored else None,
            "scored": len(scored),
            "open_errors": sum(r["open_errors"] for r in mine), "open_warnings": sum(r["open_warnings"] for r in mine),
            "overdue": sum(r.get("overdue", 0) for r in mine),
        })
    return out


def _rate_tone(rate: float | None) -> str:
    return "muted" if rate is None else "good" if rate >= 90 else "warn" if rate >= 60 else "bad"


def _score_tone(score: float | None) -> str:
    return "muted" if score is None else "good" if score >= 90 else "base" if score >= 80 else "warn" if score >= 60 else "bad"


def region_href(name: str) -> str:
    from urllib.parse import quote

    return "/regions/" + quote(name, safe="")


def charts(rows: list[dict], by_region: list[dict], *, highlight: str | None = None, limit: int = 20) -> dict:
    """The overview's pictures: on-time rate and mean score by region, and the score distribution.
    With many regions, the `limit` with the most agencies are drawn (the table lists them all)."""
    shown = sorted(by_region, key=lambda g: (-g["agencies"], g["region"]))[:limit]
    if highlight and not any(g["region"] == highlight for g in shown):
        shown += [g for g in by_region if g["region"] == highlight]
    shown.sort(key=lambda g: g["region"])
    on_time = bar_chart("各地区按期发布率", [
        Bar(g["region"], g["on_time_rate"], f"{g['on_time_rate']}%" if g["on_time_rate"] is not None else "未到期",
            href=region_href(g["region"]), highlight=g["region"] == highlight, tone=_rate_tone(g["on_time_rate"]))
        for g in shown], maximum=100)
    scores = bar_chart("各地区平均得分", [
        Bar(g["region"], g["mean_score"], f"{g['mean_score']:g} 分" if g["mean_score"] is not None else "未评分",
            href=region_href(g["region"]), highlight=g["region"] == highlight, tone=_score_tone(g["mean_score"]))
        for g in shown], maximum=100)
    counts = [0] * len(SCORE_BANDS)
    for r in rows:
        if r["score"] is None:
            continue
        for i, (low, high, _, _) in enumerate(SCORE_BANDS):
            if low <= r["score"] <= high:
                counts[i] += 1
    distribution = histogram("得分分布（单位个数）", counts, [b[2] for b in SCORE_BANDS], tones=[b[3] for b in SCORE_BANDS])
    return {"on_time": on_time, "scores": scores, "distribution": distribution,
            "regions_drawn": len(shown), "regions_total": len(by_region)}


def agencies_chart(rows: list[dict], title: str = "各单位得分") -> object:
    """A region's agencies side by side."""
    ordered = sorted(rows, key=lambda r: (r["score"] is None, -(r["score"] or 0), r["name"]))
    return bar_chart(title, [
        Bar(r["name"], r["score"], f"{r['score']} 分" if r["score"] is not None else r["state_label"],
            href=f"/agencies/{r['slug']}", tone=_score_tone(r["score"])) for r in ordered], maximum=100, label_chars=10)
