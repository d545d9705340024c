"""Numbers recognised from a scan, checked by the tables' own identities (勾稽关系).

Every table number of an OCR'd report carries its source (page, text as recognised) and the
engine's confidence (``ParsedReport.ocr``). The identities of report-fields.md then check
them: where all identities of a table hold, its numbers stand. Where one fails:

- if recognising one digit differently would make it hold, and that number was recognised
  with less than full confidence, and no identity that holds bears it out, that number is
  doubtful (the value it would need is named in the reason, never put in its place);
- otherwise, numbers of the identity recognised with low confidence are doubtful: the
  failure may be the engine's, and a rule must not accuse an agency of it;
- an identity that fails on numbers all recognised with high confidence is the report's
  own: the numbers stand, and the rules judge them.

A doubtful number leaves ``fields`` for ``doubtful``, as every doubtful reading does, so
a rule never evaluates it (rules/checks.py). This module must not judge reports.
"""

from __future__ import annotations

import re

from documents.cells import UNREAD_CELL
from documents.report import APPLICANT_COLUMNS, ParsedReport

EXPLAINED_BELOW = 0.97  # a number recognised with less confidence may be the one wrong digit
LOW = 0.9  # below this, a number in a failing identity is doubtful even unexplained

_RESULTS = ("granted", "partial", "withheld.state_secret", "withheld.law_forbidden", "withheld.security_stability",
            "withheld.third_party", "withheld.internal_affairs", "withheld.process_info", "withheld.enforcement_file",
            "withheld.inquiry", "unable.not_held", "unable.needs_creation", "unable.unclear", "rejected.petition",
            "rejected.repeat", "rejected.publication", "rejected.mass_repeat", "rejected.confirm_existing",
            "other.no_correction", "other.unpaid_fee", "other.other")
_APPLY_ROWS = ("new", "carried", "results_total", "carry_forward") + _RESULTS


def identities(fields: dict) -> list[tuple[str, list[tuple[str, int]]]]:
    """(name, [(key, sign)]) for each identity of report-fields.md whose keys are all read:
    the signed sum of the keys is 0 in a correct report."""
    out: list[tuple[str, list[tuple[str, int]]]] = []
    parts = APPLICANT_COLUMNS[:-1]
    for col in APPLICANT_COLUMNS:
        out.append((f"三 {col}: 一 + 二 = （七）总计 + 四", [(f"apply.new.{col}", 1), (f"apply.carried.{col}", 1),
                    (f"apply.results_total.{col}", -1), (f"apply.carry_forward.{col}", -1)]))
        results = [f"apply.{r}.{col}" for r in _RESULTS if f"apply.{r}.{col}" in fields]
        if results:
            out.append((f"三 {col}: （七）总计 = the result rows", [(k, 1) for k in results]
                        + [(f"apply.results_total.{col}", -1)]))
    for row in _APPLY_ROWS:
        out.append((f"三 {row}: 总计 = the six applicant columns", [(f"apply.{row}.{c}", 1) for c in parts]
                    + [(f"apply.{row}.total", -1)]))
    for group in ("review", "litigation.direct", "litigation.after_review"):
        out.append((f"四 {group}: 总计 = its four parts",
                    [(f"{group}.{p}", 1) for p in ("upheld", "corrected", "other", "pending")] + [(f"{group}.total", -1)]))
    # A blank cell counts as 0 here (the template asks for 0 where there is none): an identity
    # is checked when its total and one part at least are read.
    return [(name, terms) for name, terms in out
            if all(k in fields for k, sign in terms if sign < 0) and any(k in fields for k, sign in terms if sign > 0)]


def _one_digit(read: str, wanted: str) -> bool:
    """Whether two digit strings differ by one recognised character (one replaced, one
    more or one fewer)."""
    if len(read) == len(wanted):
        return sum(a != b for a, b in zip(read, wanted)) == 1
    if abs(len(read) - len(wanted)) != 1:
        return False
    longer, shorter = (read, wanted) if len(read) > len(wanted) else (wanted, read)
    return any(longer[:i] + longer[i + 1:] == shorter for i in range(len(longer)))


def check(parsed: ParsedReport) -> None:
    """Move the OCR'd numbers the identities put in doubt from ``fields`` to ``doubtful``."""
    fields, info = parsed.fields, parsed.ocr
    doubt: dict[str, str] = {}
    # An identity with a doubtful number in it (a cell with ink but no number read) says nothing.
    checks = [(name, terms, sum(sign * fields.get(k, 0) for k, sign in terms)) for name, terms in identities(fields)
              if not any(k in parsed.doubtful for k, _ in terms)]
    # A number in an identity that holds is borne out by it: it is not the one misread.
    borne_out = {k for _, terms, total in checks if abs(total) < 1e-9 for k, _ in terms}
    for name, terms, total in checks:
        if abs(total) < 1e-9:
            continue
        explained = []
        terms = [(k, sign) for k, sign in terms if k in fields]
        for key, sign in terms:
            if key not in info or key in borne_out or info[key]["confidence"] >= EXPLAINED_BELOW:
                continue
            wanted = fields[key] - total / sign
            if wanted >= 0 and float(wanted).is_integer() and _one_digit(_digits(fields[key]), _digits(wanted)):
                explained.append((key, int(wanted)))
        if explained:
            for key, wanted in explained:
                doubt.setdefault(key, f"recognised from a scan as {info[key]['text']} (confidence"
                                      f" {info[key]['confidence']:.2f}); the identity {name} does not hold, and"
                                      f" {wanted} would make it hold; not read")
            continue
        for key, _ in terms:
            if key in info and key not in borne_out and info[key]["confidence"] < LOW:
                doubt.setdefault(key, f"recognised from a scan as {info[key]['text']} (confidence"
                                      f" {info[key]['confidence']:.2f}) and the identity {name} does not hold;"
                                      f" not read")
    for key, reason in doubt.items():
        fields.pop(key, None)
        parsed.doubtful[key] = reason
    if doubt:
        parsed.problems.append({"kind": "ocr_doubtful", "where": "tables",
                                "detail": f"{len(doubt)} number(s) recognised from the scan are doubtful: an identity"
                                          f" of their table does not hold and they were recognised with low"
                                          f" confidence (see doubtful)"})


def _digits(value) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def apply_scan(parsed: ParsedReport, scan, fmt: str) -> ParsedReport:
    """Say that the report was recognised from a scan, give each table number its source and
    confidence, and check them by the identities."""
    parsed.meta["format"] = fmt
    parsed.meta["source"] = "ocr"
    parsed.meta["ocr"] = {"engine": scan.engine, "pages": scan.pages, "boxes": scan.boxes,
                          "seconds": round(scan.seconds, 2), "confidence": round(scan.confidence, 3)}
    by_text = {_squash(text): values for text, values in scan.rows.items()}
    lines = parsed.text.split("\n")
    for key, value in parsed.fields.items():
        m = re.search(r"line (\d+)$", parsed.where.get(key, ""))
        if not m or not 0 < int(m.group(1)) <= len(lines):
            continue
        boxes = [b for b in by_text.get(_squash(lines[int(m.group(1)) - 1]), [])
                 if b is not None and b["text"] != UNREAD_CELL]
        if not boxes:
            continue
        same = [b for b in boxes if _number(b["text"]) == value] or boxes
        weakest = min(same, key=lambda b: b["confidence"])  # of equal readings, the least sure one
        parsed.ocr[key] = {"page": weakest["page"], "confidence": weakest["confidence"], "text": weakest["text"]}
    check(parsed)
    return parsed


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _number(text: str) -> float | None:
    text = text.replace(",", "").strip()
    if text in ("o", "O"):
        return 0
    m = re.match(r"^[-−－]?\d+(?:\.\d+)?", text)
    return float(m.group(0).replace("−", "-").replace("－", "-")) if m else None
