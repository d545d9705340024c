"""The fault suite of issue 16: one full cycle of the distributed engine per scenario, a fault
injected mid-cycle, and then no manual step. Counted at the SMTP server and in the tables: every
notice of a clean cycle delivered exactly once, every report read and scored, nothing left
waiting, within a bound (short leases and a reconciler every 2 s here). A notice whose outcome
is truly unknown (its worker killed between SMTP and recording) is not sent again; the admins
get a notice naming it instead. See tests/faults/scenarios.py; bench/faults.py prints the table.

The scenarios run NIANBAO_FAULTS_PARALLEL (3) at a time, each in a deployment of its own, so the
suite takes a few minutes; NIANBAO_FAULTS_SMTP_DOWN sets how long SMTP stays down (10 s here,
the issue's 60 s in the bench: the retry after it is the same).
"""

from __future__ import annotations

import os

import pytest

from tests.conftest import unavailable
from tests.faults import scenarios
from tests.faults.world import Unavailable

pytestmark = pytest.mark.integration
OPTIONS = scenarios.Options(smtp_down=float(os.environ.get("NIANBAO_FAULTS_SMTP_DOWN", "10")), bound=150.0)
PARALLEL = int(os.environ.get("NIANBAO_FAULTS_PARALLEL", "3"))
READY = [s.name for s in scenarios.SCENARIOS]


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    chosen = [scenarios.BY_NAME[name] for name in READY]
    chosen.sort(key=lambda s: s.name != "smtp-down")  # the longest first
    return scenarios.run_all(chosen, lambda s: tmp_path_factory.mktemp(s.name), OPTIONS, PARALLEL)


@pytest.mark.parametrize("name", READY)
def test_fault(name, outcomes):
    outcome, world, error = outcomes[name]
    if isinstance(error, Unavailable):
        unavailable(str(error))
    if error is not None:
        raise error
    assert outcome.ok, (f"{name}: expected {outcome.expected}, received {outcome.received}, "
                        f"lost {outcome.lost}, duplicated {outcome.duplicated}, recovered in {outcome.seconds} s\n"
                        + "\n".join(outcome.problems) + "\n" + world.logs())
