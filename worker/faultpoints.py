"""Fault-injection points: named places where the fault suite (tests/faults) kills a worker,
so that the narrow windows it must survive are hit every time, not by luck.

A point does nothing unless armed: ``NIANBAO_FAULTPOINTS=name1,name2`` names the points and
``NIANBAO_FAULTPOINTS_DIR`` a folder of markers, so each point fires once across all processes
(the first to reach it creates its marker; later ones pass). Firing SIGKILLs the worker's whole
process group (the main process and its pool children, as an OOM kill or a pulled plug would),
but only when that group is a session of its own (the tests start workers with setsid);
otherwise only this process dies, never the shell or test run that started it.

Points (see the calls):
- ``after_commit:<step>``: a step committed its result, its successors not yet handed on;
- ``after_send``: a notice handed to the provider (SMTP accepted it), the answer not yet recorded.
"""

from __future__ import annotations

import logging
import os
import signal
from pathlib import Path

log = logging.getLogger(__name__)
ARMED_ENV, MARKERS_ENV = "NIANBAO_FAULTPOINTS", "NIANBAO_FAULTPOINTS_DIR"


def hit(name: str) -> None:
    armed = os.environ.get(ARMED_ENV)
    if not armed or name not in armed.split(","):
        return
    markers = os.environ.get(MARKERS_ENV)
    if not markers:
        return  # not armed without its markers: it would fire on every pass
    try:
        fd = os.open(Path(markers) / name.replace(":", "_"), os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return
    os.write(fd, str(os.getpid()).encode())
    os.close(fd)
    log.warning("fault point %s: killing the worker's process group", name)
    if os.getpgrp() == os.getsid(0):
        os.killpg(os.getpgrp(), signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGKILL)
