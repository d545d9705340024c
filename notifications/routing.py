"""Who gets what: pick the targets of one notice from a recipient's target list.

A target is an Apprise URL (gets every notice) or {url, kinds, min_severity}: only those
kinds, and only notices at least that severe (a notice without a severity, such as a
digest, passes any severity filter).
"""

from __future__ import annotations

SEVERITY_RANK = {"info": 0, "warning": 1, "error": 2}


def select_targets(entries: list, kind: str, severity: str = "") -> list[str]:
    chosen = []
    for entry in entries or []:
        if isinstance(entry, str):
            chosen.append(entry)
            continue
        kinds = entry.get("kinds")
        if kinds and kind not in kinds:
            continue
        floor = entry.get("min_severity")
        if floor and severity and SEVERITY_RANK.get(severity, 0) < SEVERITY_RANK.get(floor, 0):
            continue
        chosen.append(entry["url"])
    return chosen
