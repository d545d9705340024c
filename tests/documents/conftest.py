"""Shared helpers for the documents tests: where fixtures live and how to read them."""

from __future__ import annotations

from pathlib import Path

import pytest

from documents.reader import read_document
from documents.report import ParsedReport

REPO = Path(__file__).resolve().parents[2]
SHARED_FIXTURES = REPO.parent / "shared" / "fixtures"  # real reports, read in place, never edited
OWN_FIXTURES = REPO / "tests" / "fixtures"  # authored reports: our wording, real layouts


def shared_bytes(name: str) -> bytes:
    path = SHARED_FIXTURES / name
    if not path.exists():
        pytest.skip("../shared/fixtures not present (fresh clone without the shared folder)")
    return path.read_bytes()


def own_bytes(name: str) -> bytes:
    return (OWN_FIXTURES / name).read_bytes()


def read_shared(name: str, **kwargs) -> ParsedReport:
    return read_document(shared_bytes(name), name=name, **kwargs)


def read_own(name: str, **kwargs) -> ParsedReport:
    return read_document(own_bytes(name), name=name, **kwargs)


@pytest.fixture(scope="session")
def pingqiao() -> ParsedReport:
    return read_shared("000_0408e1d58f05bafb.txt")


@pytest.fixture(scope="session")
def shuyang() -> ParsedReport:
    return read_shared("shuyang-fgj-2023.html")


# Test modules get the helpers as fixtures (no imports between test modules: tests/ is
# not a package, and other folders have their own conftest.py).
@pytest.fixture(scope="session")
def shared_report():
    return read_shared


@pytest.fixture(scope="session")
def own_report():
    return read_own


@pytest.fixture(scope="session")
def own_fixture_bytes():
    return own_bytes


def pytest_terminal_summary(terminalreporter, config):
    """Say how many values the expected-JSON comparison checked (test_expected.py)."""
    rows = config.__dict__.get("nianbao_checked")
    if rows:
        values = sum(r[1] for r in rows)
        fields = sum(r[2] for r in rows)
        wrong = sum(r[3] for r in rows)
        terminalreporter.write_line(
            f"documents corpus: {len(rows)} documents compared, {values} values checked "
            f"({fields} table fields), {wrong} difference(s)")
    layouts: dict[str, list] = {}
    for layout, counts in config.__dict__.get("nianbao_layouts", []):
        layouts.setdefault(layout, []).append(counts)
    for layout in sorted(layouts):
        docs = layouts[layout]
        sums = {k: sum(c[k] for c in docs) for k in ("values", "exact", "doubtful", "wrong", "missing")}
        terminalreporter.write_line(
            f"  {layout:11} {len(docs):>3} documents {sums['values']:>6} table values: {sums['exact']} exact,"
            f" {sums['doubtful']} doubtful, {sums['wrong']} wrong, {sums['missing']} missing")
