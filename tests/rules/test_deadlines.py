from datetime import date

import pytest

from rules import Context, report_deadline


def test_defaults_by_level():
    assert report_deadline("department", 2025) == date(2026, 1, 31)
    assert report_deadline("government", 2025) == date(2026, 3, 31)


def test_override_and_end_of_february():
    assert report_deadline("department", 2021, "01-28") == date(2022, 1, 28)
    assert report_deadline("government", 2022, "02-29") == date(2023, 2, 28)
    assert report_deadline("government", 2023, "02-29") == date(2024, 2, 29)


@pytest.mark.parametrize("bad", ["1-28", "13-01", "02-30", "0131", "abc"])
def test_bad_override(bad):
    with pytest.raises(ValueError):
        report_deadline("department", 2021, bad)
    with pytest.raises(ValueError):
        Context("某局", "department", 2021, None, bad)


def test_bad_level():
    with pytest.raises(ValueError):
        report_deadline("township", 2021)
    with pytest.raises(ValueError):
        Context("某镇", "township", 2021, None)
