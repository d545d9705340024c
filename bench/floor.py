"""The in-process floor, split: CPU ms a document to read it and to evaluate the rules on it,
for each kind of demo document, this checkout next to another one measured in the same run.

    .venv/bin/python bench/floor.py [--reports 2000] [--before /work/wt-lead] [--rounds 3]

The documents are bench/pipeline.py's (2,000 authored variants of the demo's 2025 reports:
plain text, Word-pasted HTML, clean HTML, GBK HTML without a charset), each read and
evaluated once, as bench/pipeline.py's floor() does. Each checkout runs in a child process of
its own (the two cannot share one interpreter's modules), rounds alternating between them;
a figure is the lowest of its rounds (the machine is shared: other load only adds).
Prints a table (read, evaluate and total CPU ms a document for each kind and all together;
before, after, after/before) and the last line `floor: A ms a report (before B ms, ×R)`.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent


def child(repo: Path, n: int) -> dict:
    """In a process of its own: read + evaluate every document with ``repo``'s code."""
    sys.argv += ["--repo", str(repo)]  # bench/pipeline.py puts that checkout first on sys.path
    sys.path.insert(0, str(HERE / "bench"))
    import pipeline
    from datetime import date

    from documents.reader import read_document
    from rules import Context, evaluate, load_ruleset

    assert Path(sys.modules["rules"].__file__).resolve().is_relative_to(repo.resolve()), "wrong checkout imported"
    ruleset = load_ruleset(repo / "rules" / "library")
    docs = pipeline.documents(n + 10)
    clock = time.process_time

    def one(i: int):
        a = pipeline.agency(i)
        data, charset = docs[i]
        t0 = clock()
        parsed = read_document(data, content_type="text/plain" if a["file"].endswith(".txt") else "text/html",
                               name=a["file"], charset=charset)
        t1 = clock()
        ctx = Context(agency_name=a["name"], agency_level=a["level"], year=parsed.meta.get("year"),
                      published_on=date.fromisoformat(a["listed"]), deadline_override=None, previous=None,
                      rulemaking=None)
        ev = evaluate(ruleset, parsed, ctx)
        t2 = clock()
        return a["kind"], t1 - t0, t2 - t1, parsed, ev

    for i in range(n, n + 10):  # warm up on documents that are not measured (imports, compiled patterns)
        one(i)
    totals: dict[str, list] = {}
    digest = hashlib.sha256()
    for i in range(n):
        kind, read, score, parsed, ev = one(i)
        t = totals.setdefault(kind, [0, 0.0, 0.0])
        t[0] += 1
        t[1] += read
        t[2] += score
        # Everything the reading and the evaluation produced, to check both checkouts agree.
        digest.update(json.dumps([parsed.to_json(with_text=True), ev.score, ev.grade, ev.lost, ev.coverage,
                                  [dataclasses.asdict(o) for o in ev.outcomes]],
                                 sort_keys=True, ensure_ascii=False, default=str).encode())
    return {"kinds": totals, "digest": digest.hexdigest()}


def label(kind: str) -> str:
    return {"qinghe-qu": "text (UTF-8)", "songlin-xian": "HTML (Word-pasted)", "qinghe-fgj": "HTML (clean)",
            "songlin-jyj": "HTML (clean 2)", "songlin-wjw": "HTML (GBK)"}.get(kind, kind)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reports", type=int, default=2000)
    ap.add_argument("--before", type=Path, default=Path("/work/wt-lead"), help="the checkout to compare with")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.reports)))
        return
    runs: dict[str, list[dict]] = {"before": [], "after": []}
    for r in range(args.rounds):
        for name, repo in (("before", args.before), ("after", HERE)):
            # One interpreter and one set of libraries for both: only the checkout's code differs.
            out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", str(repo),
                                  "--reports", str(args.reports)], capture_output=True, text=True, cwd=repo)
            if out.returncode:
                sys.exit(f"{name} failed:\n{out.stderr}")
            runs[name].append(json.loads(out.stdout))
            print(f"  round {r + 1} {name}: done", file=sys.stderr)
    digests = {name: {run["digest"] for run in rs} for name, rs in runs.items()}
    same = digests["before"] == digests["after"] and len(digests["after"]) == 1
    kinds = list(runs["after"][0]["kinds"])

    def best(name: str, kind: str | None, part: int) -> float:
        """Lowest over rounds of CPU ms a document (part 1 read, 2 evaluate, 3 both)."""
        figures = []
        for run in runs[name]:
            ts = [run["kinds"][k] for k in ([kind] if kind else kinds)]
            count = sum(t[0] for t in ts)
            cpu = sum((t[1] if part & 1 else 0) + (t[2] if part & 2 else 0) for t in ts)
            figures.append(cpu * 1000 / count)
        return min(figures)

    print(f"CPU ms a document, {args.reports} documents, lowest of {args.rounds} rounds "
          f"(before = {args.before}, after = {HERE})")
    print(f"{'kind':<22}{'':>10}{'before':>9}{'after':>9}{'ratio':>8}")
    for kind in [*kinds, None]:
        for part, what in ((1, "read"), (2, "evaluate"), (3, "total")):
            b, a = best("before", kind, part), best("after", kind, part)
            name = (label(kind) if kind else "all") if part == 1 else ""
            print(f"{name:<22}{what:>10}{b:9.2f}{a:9.2f}{a / b:8.2f}")
    b, a = best("before", None, 3), best("after", None, 3)
    print(f"outcomes identical: {'yes' if same else 'NO'}")
    print(f"floor: {a:.2f} ms a report (before {b:.2f} ms, ×{a / b:.2f})")


if __name__ == "__main__":
    main()
