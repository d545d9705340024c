"""Parse speed: documents per second per core, by format, against the raw HTML parse.

    .venv/bin/python bench/parse.py [--seconds 2] [--rounds 5] [--stages]

Corpora: the authored fixtures (tests/fixtures) and the real reports (../shared/fixtures,
when present), grouped by format, and the text documents also by layout (pipes, one cell
per line, blank-line paragraphs, run-together rows, PDF-to-Markdown; their expected JSON
names it). For HTML, the same documents are also parsed by
selectolax alone (``LexborHTMLParser(bytes)``: the library's parse, nothing of ours) in the
same run, repeated on its own (the strictest baseline: hot CPU caches) and in turns with
the read (each document's functions take turns, so noise hits them alike); the ratios of
our whole read to both are printed. Goals (issue 3): a whole HTML report < 3× the raw
parse and < 10 ms; a PDF < 100 ms a page. Two floors are measured too, in turns with the
read: the parse plus the library's native text extraction, and the parse plus a Python
loop that only visits every node (what any reader written in Python pays first).

The main figures repeat each document, so the parser's caches (cell texts, labels) hold
that document's own cells. Two more reads show what that is worth: with the caches
cleared (a worker's first report) and with them primed by all the other documents only
(steady state: template labels cached, this report's own text not).

``--stages`` also splits the HTML read into its stages (decode, HTML parse, DOM walk to a
Layout, script check, sections, tables, metadata, prose numbers), by wrapping the functions
``documents.reader`` calls with timers: a per-stage median over the documents, in ms.

Single process, so the figures are per core. A script that prints figures, not a test.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from selectolax.lexbor import LexborHTMLParser  # noqa: E402

from documents.errors import DocumentError  # noqa: E402
from documents.reader import read_document  # noqa: E402

FORMATS = {".html": "html", ".htm": "html", ".txt": "text", ".pdf": "pdf", ".docx": "docx"}


def text_layout(path: Path) -> str:
    """The text layout a fixture stands for (its expected JSON says; "text" otherwise)."""
    expected = REPO / "tests" / "fixtures" / "expected" / f"{path.name}.json"
    if expected.is_file():
        return json.loads(expected.read_text()).get("layout") or "text"
    return "text"


def corpus() -> dict[str, list[tuple[str, bytes]]]:
    out: dict[str, list[tuple[str, bytes]]] = {k: [] for k in ("html", "text", "pdf", "docx")}
    folders = [REPO / "tests" / "fixtures", REPO.parent / "shared" / "fixtures"]
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            fmt = FORMATS.get(path.suffix.lower())
            if fmt and path.is_file():
                data = path.read_bytes()
                try:
                    read_document(data, name=path.name)
                except DocumentError:
                    continue  # bad-input fixtures are not reports
                out[fmt].append((path.name, data))
    return out


def per_doc(fns: dict, docs: list[tuple[str, bytes]], seconds: float) -> dict[str, list[float]]:
    """For each function, the median seconds per document for each document. The functions
    take turns on a document (one call each, round after round, for about ``seconds`` per
    function over the corpus), so a burst of noise on this machine hits them all alike and
    the ratios between them stay honest."""
    times: dict[str, list[float]] = {label: [] for label in fns}
    budget = seconds * len(fns) / max(1, len(docs))
    for name, data in docs:
        for fn in fns.values():
            fn(name, data)  # warm up (imports, caches)
        samples: dict[str, list[float]] = {label: [] for label in fns}
        rounds, start = 0, time.perf_counter()
        while rounds < 3 or time.perf_counter() - start < budget:
            for label, fn in fns.items():
                t = time.perf_counter()
                fn(name, data)
                samples[label].append(time.perf_counter() - t)
            rounds += 1
        for label in fns:
            times[label].append(statistics.median(samples[label]))
    return times


def visit_every_node(name: str, data: bytes) -> int:
    """Parse, then visit every node (elements and text) from Python once: the cheapest
    possible Python walk of the document, a floor for any reader written in Python."""
    count = 0
    for node in LexborHTMLParser(data).body.traverse(include_text=True):
        if node.tag == "-text":
            count += 1
    return count


def pdf_pages(data: bytes) -> int:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(data)
    try:
        return len(doc)
    finally:
        doc.close()


def parser_caches() -> list:
    """The lru caches of documents/ (cell texts, labels): warm after one read of a document."""
    import importlib
    import pkgutil

    import documents

    caches = []
    for info in pkgutil.iter_modules(documents.__path__):
        module = importlib.import_module(f"documents.{info.name}")
        caches += [f for f in vars(module).values() if callable(getattr(f, "cache_clear", None))]
    return caches


def cache_effect(docs: list[tuple[str, bytes]], rounds: int) -> dict[str, list[float]]:
    """Per document, the median time of one read (a) with the parser's caches cleared (a
    worker's first report), (b) with them primed by every other document but not this
    one (a worker in steady state: template labels cached, this report's own text not),
    and, right after, (c) the read repeated (its own cells cached, as in ``per_doc``) and
    (d) the raw parse, so the four compare at the same moment."""
    caches = parser_caches()
    out: dict[str, list[list[float]]] = {k: [[] for _ in docs] for k in ("cold", "primed", "repeated", "raw")}

    def timed(key: str, i: int, fn, *args) -> None:
        t = time.perf_counter()
        fn(*args)
        out[key][i].append(time.perf_counter() - t)

    for _ in range(rounds):
        for i, (name, data) in enumerate(docs):
            for cache in caches:
                cache.cache_clear()
            timed("cold", i, read_document, data)
            for cache in caches:
                cache.cache_clear()
            for j, (_, other) in enumerate(docs):
                if j != i:
                    read_document(other)
            timed("primed", i, read_document, data)
            timed("repeated", i, read_document, data)
            timed("raw", i, LexborHTMLParser, data)
    return {k: [statistics.median(x) for x in v] for k, v in out.items()}


# Stage name → (module, attribute) of the functions documents.reader calls, in call order.
STAGES = {
    "decode": [("documents.reader", "decode_bytes")],
    "html parse": [("documents.html", "LexborHTMLParser")],
    "layout": [("documents.reader", "html_to_layout")],  # includes "html parse"; subtracted below
    "script": [("documents.reader", "is_traditional")],
    "sections": [("documents.reader", "find_sections")],
    "tables": [("documents.reader", "read_tables")],
    "meta": [("documents.reader", name) for name in ("find_title", "year_of", "published_of", "agency_of")],
    "narrative": [("documents.reader", "read_narrative")],
}


def stage_breakdown(docs: list[tuple[str, bytes]], seconds: float) -> None:
    """Print the median time of each stage over the documents (see the module docstring)."""
    import importlib

    spent: dict[str, float] = {}

    def timed(stage, fn):
        def wrapper(*args, **kwargs):
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[stage] = spent.get(stage, 0.0) + time.perf_counter() - t
        return wrapper

    saved = []
    for stage, targets in STAGES.items():
        for module_name, attr in targets:
            module = importlib.import_module(module_name)
            saved.append((module, attr, getattr(module, attr)))
            setattr(module, attr, timed(stage, getattr(module, attr)))
    per_stage: dict[str, list[float]] = {s: [] for s in [*STAGES, "other", "total"]}
    try:
        budget = seconds / max(1, len(docs))
        for name, data in docs:
            read_document(data, name=name)
            samples: dict[str, list[float]] = {s: [] for s in per_stage}
            start = time.perf_counter()
            while len(samples["total"]) < 3 or time.perf_counter() - start < budget:
                spent.clear()
                t = time.perf_counter()
                read_document(data, name=name)
                total = time.perf_counter() - t
                spent["layout"] = spent.get("layout", 0.0) - spent.get("html parse", 0.0)
                for s in STAGES:
                    samples[s].append(spent.get(s, 0.0))
                samples["other"].append(total - sum(spent.values()))
                samples["total"].append(total)
            for s, values in samples.items():
                per_stage[s].append(statistics.median(values))
    finally:
        for module, attr, fn in saved:
            setattr(module, attr, fn)
    print("\nHTML read by stage (median over documents of each document's median, ms; max):")
    for s, values in per_stage.items():
        print(f"  {s:11} {statistics.median(values) * 1000:7.3f}  {max(values) * 1000:7.3f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=2.0, help="time spent per measured function per format")
    ap.add_argument("--stages", action="store_true", help="also print the HTML read stage by stage")
    ap.add_argument("--rounds", type=int, default=5, help="reads of each document with cleared / primed caches")
    args = ap.parse_args()
    docs = corpus()

    def ours(name, data):
        read_document(data, name=name)

    html = docs["html"]
    # The HTML read, the raw parse and the two floors take turns on each document.
    # Floors: what any reader built on this parse pays before it reads a word. "native
    # text" is the library's own text extraction (no Python per node); "python visit"
    # touches every node once from Python and does nothing else.
    html_fns = {
        "ours": ours,
        "raw": lambda name, data: LexborHTMLParser(data),
        "parse + native text": lambda name, data: LexborHTMLParser(data).body.text(separator="\n"),
        "parse + python visit": visit_every_node,
    }
    print(f"{'format':8} {'docs':>4} {'median ms':>10} {'max ms':>8} {'docs/s/core':>12}")
    results, html_times = {}, {}
    for fmt, items in docs.items():
        if not items:
            continue
        if fmt == "html":
            html_times = per_doc(html_fns, items, args.seconds)
            t = html_times["ours"]
        else:
            t = per_doc({"ours": ours}, items, args.seconds)["ours"]
        results[fmt] = t
        print(f"{fmt:8} {len(items):>4} {statistics.median(t) * 1000:>10.2f} {max(t) * 1000:>8.2f}"
              f" {len(t) / sum(t):>12.0f}")
        if fmt == "text":  # the text layouts (issue 17), from the same measurements
            layouts: dict[str, list[float]] = {}
            for (name, _), x in zip(items, t):
                layouts.setdefault(text_layout(Path(name)), []).append(x)
            for layout, xs in sorted(layouts.items()):
                print(f"  {layout:10} {len(xs):>2} {statistics.median(xs) * 1000:>10.2f} {max(xs) * 1000:>8.2f}"
                      f" {len(xs) / sum(xs):>12.0f}")

    if html:
        # The baseline: the raw parse repeated on its own (hot CPU caches, so the lowest
        # figure and the strictest ratio); in turns with the read it takes longer.
        raw = per_doc({"raw": html_fns["raw"]}, html, args.seconds)["raw"]
        whole = html_times["ours"]
        ratios = [w / r for w, r in zip(whole, raw)]
        in_turns = [w / r for w, r in zip(whole, html_times["raw"])]
        print()
        print(f"raw HTML parse (selectolax LexborHTMLParser on the bytes), same {len(html)} documents:")
        print(f"  median {statistics.median(raw) * 1000:.2f} ms, {len(raw) / sum(raw):.0f} docs/s/core repeated alone;"
              f" {statistics.median(html_times['raw']) * 1000:.2f} ms in turns with the read")
        print(f"  whole read / raw parse: median {statistics.median(ratios):.2f}×, max {max(ratios):.2f}×"
              f" (goal < 3×; {statistics.median(in_turns):.2f}× against the parse in turns);"
              f" whole read max {max(whole) * 1000:.2f} ms (goal < 10 ms)")
        for label in ("parse + native text", "parse + python visit"):  # both in turns with the raw parse
            t = html_times[label]
            print(f"  {label:22} median {statistics.median(t) * 1000:.2f} ms"
                  f" = {statistics.median([x / r for x, r in zip(t, html_times['raw'])]):.2f}× raw parse;"
                  f" whole read = {statistics.median([w / x for w, x in zip(whole, t)]):.1f}× this")
        effect = cache_effect(html, args.rounds)
        for label, key in (("caches primed by the others", "primed"), ("caches cleared", "cold")):
            t = effect[key]
            print(f"  read, {label:27} median {statistics.median(t) * 1000:.2f} ms, max {max(t) * 1000:.2f} ms"
                  f" = {statistics.median([x / r for x, r in zip(t, effect['raw'])]):.1f}× raw parse"
                  f" ({statistics.median([x / w for x, w in zip(t, effect['repeated'])]):.2f}× the repeated read)")
        worst = max(range(len(html)), key=lambda i: ratios[i])
        print(f"  largest ratio: {html[worst][0]} ({len(html[worst][1]):,} bytes,"
              f" {whole[worst] * 1000:.2f} ms vs {raw[worst] * 1000:.2f} ms)")
    if html and args.stages:
        stage_breakdown(html, args.seconds)
    if docs["pdf"]:
        per_page = [t / pdf_pages(data) for t, (_, data) in zip(results["pdf"], docs["pdf"])]
        print(f"\nPDF: median {statistics.median(per_page) * 1000:.2f} ms a page, max {max(per_page) * 1000:.2f} ms"
              " (goal < 100 ms a page)")


if __name__ == "__main__":
    main()
