"""Every fixture against its expected JSON, value by value.

``tests/fixtures/expected/<file>.json`` holds what a careful reader takes from
``tests/fixtures/<file>`` (authored reports); ``tests/fixtures/expected/shared/<file>.json``
the same for the real reports in ``../shared/fixtures`` (read in place, skipped when that
folder is absent). One test per document compares meta, sections (present, heading),
every field, the doubtful keys, the problem kinds and the narrative values, and lists every
missing, extra and different entry at once. A field the expected JSON lists as doubtful may
be left out by the parser (rules do not evaluate it) but never read as another number.

The number of values checked is printed at the end of the run (see conftest.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from documents.reader import read_document

REPO = Path(__file__).resolve().parents[2]
OWN_FIXTURES = REPO / "tests" / "fixtures"
SHARED_FIXTURES = REPO.parent / "shared" / "fixtures"
EXPECTED = OWN_FIXTURES / "expected"
OWN = sorted(p for p in EXPECTED.glob("*.json"))
SHARED = sorted(p for p in (EXPECTED / "shared").glob("*.json"))


def _diff(label: str, want: dict, got: dict, out: list[str]) -> int:
    for key in sorted(set(want) | set(got)):
        if key not in got:
            out.append(f"{label}: missing {key} (want {want[key]!r})")
        elif key not in want:
            out.append(f"{label}: extra {key} = {got[key]!r}")
        elif want[key] != got[key] or type(want[key]) is bool and type(got[key]) is not bool:
            out.append(f"{label}: {key} = {got[key]!r}, want {want[key]!r}")
    return len(set(want) | set(got))


def field_counts(expected: dict, report: dict) -> dict[str, int]:
    """Table fields of one document: how many the expected JSON states, read exactly,
    left doubtful (not read, and said why), read wrong, or missing without a doubt."""
    got, doubtful = report["fields"], report["doubtful"]
    out = {"values": 0, "exact": 0, "doubtful": 0, "wrong": 0, "missing": 0}
    for key, value in expected["fields"].items():
        out["values"] += 1
        if key in got:
            out["exact" if got[key] == value else "wrong"] += 1
        else:
            out["doubtful" if key in doubtful else "missing"] += 1
    out["wrong"] += sum(1 for key in got if key not in expected["fields"])  # a number the page does not state
    return out


def compare(expected: dict, data: bytes, name: str) -> tuple[int, int, list[str]]:
    """(values checked, of which fields, differences)."""
    report = read_document(data, name=name).to_json()
    expected.setdefault("_counts", field_counts(expected, report))
    out: list[str] = []
    checked = _diff("meta", expected["meta"], {k: report["meta"].get(k) for k in expected["meta"]}, out)
    sections = {k: {"present": v["present"], "heading": v["heading"]} for k, v in report["sections"].items()}
    for key, want in expected["sections"].items():
        checked += _diff(f"sections.{key}", want, sections.get(key, {}), out)
    # A doubtful field is "not evaluated" by rules: the parser may leave it out, but it
    # must never state a wrong number for it.
    want = {k: v for k, v in expected["fields"].items() if k in report["fields"] or k not in expected["doubtful"]}
    n_fields = _diff("fields", want, report["fields"], out)
    checked += n_fields
    checked += _diff("doubtful", dict.fromkeys(expected["doubtful"], True), dict.fromkeys(report["doubtful"], True), out)
    kinds = sorted(p["kind"] for p in report["problems"])
    checked += max(1, len(expected["problems"]))
    if kinds != expected["problems"]:
        out.append(f"problems: kinds {kinds}, want {expected['problems']}")
    checked += _diff("narrative", expected["narrative"], {k: v["value"] for k, v in report["narrative"].items()}, out)
    return checked, n_fields, out


def _run(config, path: Path, data: bytes, name: str) -> None:
    expected = json.loads(path.read_text())
    checked, n_fields, problems = compare(expected, data, name)
    layout = expected.get("layout") or expected["meta"].get("format") or "?"
    config.__dict__.setdefault("nianbao_checked", []).append((name, checked, n_fields, len(problems)))
    config.__dict__.setdefault("nianbao_layouts", []).append((layout, expected["_counts"]))
    assert not problems, f"{name}: {len(problems)} difference(s)\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("path", OWN, ids=[p.stem for p in OWN])
def test_authored_fixture(pytestconfig, path):
    name = path.name[: -len(".json")]
    _run(pytestconfig, path, (OWN_FIXTURES / name).read_bytes(), name)


@pytest.mark.parametrize("path", SHARED, ids=[p.stem for p in SHARED])
def test_real_report(pytestconfig, path):
    name = path.name[: -len(".json")]
    source = SHARED_FIXTURES / name
    if not source.exists():
        pytest.skip(f"../shared/fixtures/{name} is absent (a clone without the shared folder): real report not checked")
    _run(pytestconfig, path, source.read_bytes(), name)


def test_corpus_is_large_enough():
    documents = [p for p in OWN_FIXTURES.iterdir() if p.is_file() and p.suffix in (".html", ".txt", ".pdf", ".docx")]
    assert len(documents) >= 30
    assert len(OWN) >= 30  # every authored report has its expected JSON (bad-input ones excepted)
    scans = OWN_FIXTURES / "scans"  # page images, with their own budget (test_ocr_corpus.py)
    assert sum(p.stat().st_size for p in OWN_FIXTURES.rglob("*") if p.is_file() and scans not in p.parents) < 2_000_000
