"""Same PDF bytes, same reading, whatever fonts the host has.

pdfium measures the characters of a PDF that embeds no fonts with a substitute font it
looks for among the host's fonts, so before documents/pdf.py hid them a host with CJK fonts
read wrapped row labels differently (three fixtures lost 14 fields each). CI installs
fonts-noto-cjk, so the whole suite runs with CJK fonts; these tests read every PDF again in
a private mount namespace (``unshare -m``) where a tmpfs hides the font folders (an empty
fontconfig does not hide them from pdfium, which scans the folders itself), and ask for the
same JSON, text included, and run the PDF tests there too.

They need root or user namespaces (``unshare -m``): elsewhere they skip, saying so, unless
NIANBAO_TEST_FONT_CHECKS=1 (.ci/run sets it), where they must run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from documents.reader import read_document

REPO = Path(__file__).resolve().parents[2]
PDFS = sorted((REPO / "tests" / "fixtures").glob("*.pdf")) + sorted((REPO.parent / "shared" / "fixtures").glob("*.pdf"))
# Where pdfium (and fontconfig) look for the host's fonts.
FONT_DIRS = ["/usr/share/fonts", "/usr/local/share/fonts", "/usr/share/X11/fonts",
             os.path.expanduser("~/.fonts"), os.path.expanduser("~/.local/share/fonts")]
REQUIRED = os.environ.get("NIANBAO_TEST_FONT_CHECKS") == "1"

_DUMP = """
import json, sys
from documents.reader import read_document
out = {p: read_document(open(p, "rb").read(), name=p).to_json(with_text=True) for p in sys.argv[1:]}
print(json.dumps(out, ensure_ascii=False, sort_keys=True))
"""


def _cjk_fonts() -> list[str]:
    found = []
    for folder in FONT_DIRS:
        for root, _, files in os.walk(folder):
            found += [f for f in files if any(w in f.lower() for w in ("cjk", "wqy", "hei", "song", "ming", "kai"))]
    return found


def _without_fonts(*command: str) -> subprocess.CompletedProcess:
    """Run a command in a private mount namespace with a tmpfs over every font folder."""
    mounts = " && ".join(f"mount -t tmpfs none {d}" for d in FONT_DIRS if os.path.isdir(d)) or "true"
    script = f"{mounts} && exec \"$@\""
    unshare = shutil.which("unshare")
    if unshare is None:
        return subprocess.CompletedProcess([], 127, "", "unshare not found")
    return subprocess.run([unshare, "-m", "sh", "-c", script, "sh", *command], capture_output=True, text=True,
                          cwd=REPO, timeout=600, env={**os.environ, "NIANBAO_IN_FONTLESS_NAMESPACE": "1"})


def _need_namespace() -> None:
    probe = _without_fonts("true")
    if probe.returncode != 0:
        message = f"cannot hide the host's fonts (unshare -m and mount need root or user namespaces): {probe.stderr.strip()}"
        if REQUIRED:
            pytest.fail(message)
        pytest.skip(message)


pytestmark = pytest.mark.skipif(os.environ.get("NIANBAO_IN_FONTLESS_NAMESPACE") == "1",
                                reason="already running without the host's fonts")


def test_ci_reads_pdfs_with_cjk_fonts_installed():
    if not _cjk_fonts():
        message = "no CJK font on this host: the suite's PDF tests ran without them only"
        if REQUIRED:
            pytest.fail(message + " (.ci/run installs fonts-noto-cjk)")
        pytest.skip(message)


def test_every_pdf_reads_the_same_without_the_hosts_fonts():
    _need_namespace()
    paths = [str(p) for p in PDFS]
    here = {p: read_document(Path(p).read_bytes(), name=p).to_json(with_text=True) for p in paths}
    run = _without_fonts(sys.executable, "-c", _DUMP, *paths)
    assert run.returncode == 0, run.stderr[-2000:]
    there = json.loads(run.stdout)
    for path in paths:
        assert json.loads(json.dumps(here[path], ensure_ascii=False, sort_keys=True)) == there[path], \
            f"{Path(path).name} reads differently with the host's fonts ({len(_cjk_fonts())} CJK font files) and without"


def test_the_pdf_tests_pass_without_the_hosts_fonts():
    _need_namespace()
    check = _without_fonts("find", *(d for d in FONT_DIRS if os.path.isdir(d)), "-type", "f")
    assert check.returncode == 0 and not check.stdout.strip(), "the font folders are not hidden"
    run = _without_fonts(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                         "tests/documents/test_expected.py", "tests/documents/test_formats_and_parts.py",
                         "tests/documents/test_authored_reports.py", "tests/documents/test_real_reports.py",
                         "-k", "pdf or PDF or p0 or hongze")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert " passed" in run.stdout and " failed" not in run.stdout
