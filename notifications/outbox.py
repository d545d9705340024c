"""The `outbox://NAME` Apprise scheme: notices as readable files (the embedded default).

`outbox://qinghe-fgj` writes each notice to <outbox dir>/qinghe-fgj/<time>-<title>.txt.
The directory is set once at start-up with set_outbox_dir (the scheme is global to Apprise).
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from apprise.decorators import notify

from notifications.dates import local

_state = {"dir": Path("var/outbox"), "clock": None}
UNSAFE = re.compile(r"[^\w\u4e00-\u9fff-]+")


def set_outbox_dir(directory: Path, clock: Callable[[], datetime] | None = None) -> None:
    """`clock`: the runtime's (a pinned demo date names files on that day); default the real one."""
    _state["dir"] = Path(directory)
    _state["clock"] = clock


def outbox_dir() -> Path:
    return _state["dir"]


def file_title(title: str, limit: int = 60) -> str:
    """The subject as a file name: whole words, never cut in the middle of a name or a year.

    Subjects are short (a notice's subject is about 40 characters); a longer one is cut at the
    last separator before `limit` characters (60 CJK characters stay under 255 bytes)."""
    name = UNSAFE.sub("_", title).strip("_") or "notice"
    if len(name) <= limit:
        return name
    cut = name.rfind("_", 0, limit)
    return name[:cut] if cut > limit // 2 else name[:limit]


@notify(on="outbox", name="nianbao outbox (files)")
def _write(body: str, title: str, notify_type, meta, attach=None, *args, **kwargs) -> bool:
    name = UNSAFE.sub("_", meta.get("host") or "default")[:60] or "default"
    folder = _state["dir"] / name
    folder.mkdir(parents=True, exist_ok=True)
    now = _state["clock"]() if _state["clock"] else datetime.now(timezone.utc)
    stamp = local(now).strftime("%Y%m%d-%H%M%S-%f")[:-3]  # office time, whatever the host's zone
    path = folder / f"{stamp}-{file_title(title)}.txt"
    path.write_text(f"{title}\n{'=' * 40}\n{body.rstrip()}\n", encoding="utf-8")
    for item in attach or []:  # a digest's CSV lands beside its text
        (folder / f"{path.stem}-{Path(item.path).name}").write_bytes(Path(item.path).read_bytes())
    return True
