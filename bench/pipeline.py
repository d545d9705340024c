"""2,000 reports through the whole distributed pipeline, next to the floor and the embedded runner of the same run.

    .venv/bin/python bench/pipeline.py [--reports 2000] [--concurrency 2] [--skip-embedded] [--count]

The documents are authored variants of the demo's 2025 reports (examples/portals: plain text,
Word-pasted HTML, GBK HTML without a charset, clean HTML), made at start: report i belongs to
agency i, whose place name (青河区 → 东南区 …) is its own, so every document differs and names
the agency it is filed under. A local aiohttp server (its own process) plays the portals:
agency i lives on host 127.0.x.y (five agencies a host; every 127/8 address is loopback on
Linux), its listing at /a{i}/ shows its report with the demo's listing date. Notices go to
outbox:// files.

Measured in this order, on the same documents:
1. floor: read_document + the rules in-process, one document after the other, no database;
2. embedded: `nianbao run --once` (run_cycle) on SQLite, in this process;
3. distributed: due_sources → Redis → a Celery worker (prefork, --concurrency) on PostgreSQL
   (a schema of its own): poll, fetch, parse, evaluate, plan, deliver, until every report is
   evaluated and as many notices are sent as the embedded run sent (checked: same outcome).
   A poll batch fetches its finds itself; the work goes on as lists (worker.tasks: a task and
   a transaction for 25 snapshots read, scored and planned; a task delivering their notices).
   With --count, the worker's commits, SQL statements and Celery tasks a report.
Then the reconciler's sweep over 100,000 reports in the same schema (rows bulk-inserted with
generate_series, a hundred items overdue in each waiting state): the sweep that hands them
out and one with nothing to hand out, in a process that has swept before.
Prints reports a second of each, the worker's CPU time a report against the floor's (a figure
the other processes on the machine change less than wall time), and the ratios; the last line:
`pipeline: R reports/s end to end, X× the floor` (X = floor rate / end-to-end rate).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if "--repo" in sys.argv:  # another checkout's code (a before/after comparison with the same bench)
    REPO = Path(sys.argv[sys.argv.index("--repo") + 1]).resolve()
sys.path.insert(0, str(REPO))
PORTALS = REPO / "examples" / "portals"
PER_HOST = 5
TODAY = "2026-06-30"  # the demo's clock: after both 2025 deadlines
# The demo agencies with a 2025 report: (slug, place in the text, the rest of its name, level, file, listing date).
KINDS = [
    ("qinghe-qu", "青河", "区人民政府", "government", "nb2025.txt", "2026-03-20"),
    ("songlin-xian", "松林", "县人民政府", "government", "nb2025.html", "2026-03-26"),
    ("qinghe-fgj", "青河", "区发展和改革局", "department", "nb2025.html", "2026-01-22"),
    ("songlin-jyj", "松林", "县教育局", "department", "nb2025.html", "2026-02-16"),
    ("songlin-wjw", "松林", "县卫生健康委员会", "department", "nb2025.html", "2026-01-28"),
]
# Two-character place names (none of 和与及的局委办厅部署院, which would not read as a place).
CHARS = "东南西北中上前后金木水火土山川河湖江海天日月星云风雨雪花草林石田龙凤泉松柏桃李竹梅兰青白红黄绿安平"


def host(i: int) -> str:
    h = i // PER_HOST
    return f"127.0.{h // 250}.{1 + h % 250}"


def place(i: int) -> str:
    return CHARS[(i // len(CHARS)) % len(CHARS)] + CHARS[i % len(CHARS)]


def agency(i: int) -> dict:
    slug, old, rest, level, file, listed = KINDS[i % len(KINDS)]
    return dict(slug=f"a{i}", kind=slug, old=old, name=place(i // len(KINDS)) + rest, level=level, file=file,
                listed=listed, region=place(i // len(KINDS)) + rest[0])


def documents(n: int) -> list[tuple[bytes, str | None]]:
    """(bytes, charset the server states) of report i: the demo report with agency i's place name."""
    originals = {}
    for slug, old, *_ in KINDS:
        file = next(k[4] for k in KINDS if k[0] == slug)
        data = (PORTALS / slug / file).read_bytes()
        gbk = slug == "songlin-wjw"  # saved in GBK, served without a charset: kept so
        originals[slug] = (data.decode("gbk" if gbk else "utf-8"), "gbk" if gbk else "utf-8", old)
    out = []
    for i in range(n):
        a = agency(i)
        text, encoding, old = originals[a["kind"]]
        out.append((text.replace(old, place(i // len(KINDS))).encode(encoding), None if encoding == "gbk" else "utf-8"))
    return out


def listing(i: int) -> bytes:
    a = agency(i)
    return ("<html><head><meta charset='utf-8'><title>政府信息公开年报</title></head><body><ul>"
            f"<li><a href='{a['file']}'>{a['name']}2025年政府信息公开工作年度报告</a><span>{a['listed']}</span></li>"
            f"<li><a href='yd2025.html'>{a['name']}2025年政务公开工作要点</a><span>2025-03-12</span></li>"
            "</ul></body></html>").encode()


def serve(port: int, n: int, ready) -> None:
    from aiohttp import web

    docs = documents(n)

    async def handle(request):
        parts = request.path.strip("/").split("/")
        i = int(parts[0][1:])
        if len(parts) == 1 or parts[1] in ("", "index.html"):
            return web.Response(body=listing(i), headers={"Content-Type": "text/html; charset=utf-8"})
        if parts[1] == agency(i)["file"]:
            data, charset = docs[i]
            kind = "text/plain" if parts[1].endswith(".txt") else "text/html"
            return web.Response(body=data, headers={"Content-Type": kind + (f"; charset={charset}" if charset else ""),
                                                    "ETag": f'"r{i}"'})
        return web.Response(status=404)

    app = web.Application()
    app.router.add_get("/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)

    async def main():
        await runner.setup()
        await web.TCPSite(runner, "0.0.0.0", port, backlog=4096).start()
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(main())


def roster(path: Path, port: int, n: int) -> Path:
    import yaml

    data = {"office": {"name": "示范市人民政府办公室（政务公开办）", "notify": ["outbox://office"],
                       "admins": ["outbox://admins"]},
            "agencies": [{"slug": a["slug"], "name": a["name"], "level": a["level"], "region": a["region"],
                          "sources": [{"url": f"http://{host(i)}:{port}/a{i}/", "kind": "listing"}],
                          "notify": [f"outbox://{a['slug']}"]} for i, a in ((i, agency(i)) for i in range(n))]}
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


# ---------------------------------------------------------------- 1. the floor


def floor(n: int) -> tuple[float, float, int]:
    """Parse + evaluate alone, in this process: what the pipeline cannot beat on one core."""
    from datetime import date

    from documents.reader import read_document
    from rules import Context, evaluate, load_ruleset

    ruleset = load_ruleset(REPO / "rules" / "library")
    docs = documents(n)
    failed = 0
    started, cpu = time.perf_counter(), time.process_time()
    for i, (data, charset) in enumerate(docs):
        a = agency(i)
        parsed = read_document(data, content_type="text/plain" if a["file"].endswith(".txt") else "text/html",
                               name=a["file"], charset=charset)
        ctx = Context(agency_name=a["name"], agency_level=a["level"], year=parsed.meta.get("year"),
                      published_on=date.fromisoformat(a["listed"]), deadline_override=None, previous=None,
                      rulemaking=None)
        failed += evaluate(ruleset, parsed, ctx).score < 100
    return time.perf_counter() - started, time.process_time() - cpu, failed


# ---------------------------------------------------------------- 2. the embedded runner


def counts(db_url: str) -> dict:
    from sqlalchemy import text

    from models.db import get_engine

    with get_engine(db_url).connect() as conn:
        one = lambda sql: conn.execute(text(sql)).scalar()  # noqa: E731
        return {"reports": one("SELECT count(*) FROM report"),
                "evaluated": one("SELECT count(DISTINCT s.report_id) FROM evaluation e JOIN snapshot s "
                                 "ON s.id = e.snapshot_id"),
                "notices": one("SELECT count(*) FROM notice WHERE report_id IS NOT NULL"),
                "sent": one("SELECT count(*) FROM notice WHERE report_id IS NOT NULL AND status = 'sent'")}


def embedded(workdir: Path, agencies_file: Path) -> tuple[float, dict]:
    from config.settings import Settings
    from models.db import migrate
    from worker import pipeline
    from worker.runner import run_cycle
    from worker.runtime import Runtime

    home = workdir / "embedded"
    settings = Settings(home=home, agencies_file=agencies_file, allow_private_hosts=True, today=TODAY, broker_url="",
                        poll_host_rate=0)
    rt = Runtime(settings)
    migrate(rt.db_url)
    pipeline.refresh_roster(rt)  # the roster is in place before the clock starts, as for the distributed run
    started = time.perf_counter()
    report = run_cycle(rt, all_sources=True)
    elapsed = time.perf_counter() - started
    if report.transient or report.errors:
        print(f"  embedded: {len(report.transient)} transient failures, errors {report.errors[:3]}")
    return elapsed, counts(rt.db_url)


# ---------------------------------------------------------------- 3. the distributed pipeline


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and its live children: the cost of the work
    whatever else the machine is doing, where wall time depends on the other helpers' load."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    try:
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        for p in [pid, *map(int, kids)]:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
    except (FileNotFoundError, ProcessLookupError):
        pass
    return total


# --count: loaded by the worker before Celery (a module of the run's folder on its PYTHONPATH).
COUNT_HOOK = """
import os
from celery.signals import task_prerun
from sqlalchemy import event
from sqlalchemy.engine import Engine

_fd = {}


def _mark(c):
    pid = os.getpid()
    if pid not in _fd:
        _fd[pid] = os.open(os.path.join(os.environ["NIANBAO_BENCH_COUNTS"], str(pid)),
                           os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.write(_fd[pid], c)


event.listen(Engine, "commit", lambda conn: _mark(b"c"))
event.listen(Engine, "before_cursor_execute", lambda *a: _mark(b"s"))
task_prerun.connect(lambda **kw: _mark(b"t"), weak=False)
"""

SWEEP_BASE = 1_000_000  # ids of the sweep's rows, far from the pipeline's own


def _fill(table, n: int, overrides: dict[str, str]) -> str:
    """INSERT … SELECT … FROM generate_series: every NOT NULL column gets its override or a plain
    value of its type, so the statement follows the tables as they are."""
    from datetime import date, datetime

    from sqlalchemy import JSON

    plain = {int: "0", float: "0", bool: "false", str: "''", datetime: "now()", date: "current_date",
             dict: "'{}'", list: "'[]'"}
    cols, exprs = [], []
    for col in table.columns:
        if col.name in overrides:
            expr = overrides[col.name]
        elif col.nullable or col.server_default is not None:
            continue
        elif isinstance(col.type, JSON):
            expr = "'[]'"
        else:
            try:
                expr = plain.get(getattr(col.type, "impl_instance", col.type).python_type, "''")
            except NotImplementedError:
                expr = "''"
        cols.append(col.name)
        exprs.append(expr)
    return f"INSERT INTO {table.name} ({', '.join(cols)}) SELECT {', '.join(exprs)} FROM generate_series(1, {n}) AS g"


def reconciler_sweep(db_url: str, n: int = 100_000, overdue: int = 100) -> str:
    """The reconciler's sweep over n reports: n reports fetched, their snapshots scored, their
    evaluations planned and a notice each sent (bulk-inserted with generate_series), plus
    `overdue` items in each waiting state past their lease. Timed: the sweep that hands those
    out, then a sweep with nothing to hand out."""
    try:
        from worker.reconciler import reconcile
    except ImportError:
        return "reconciler: not in this tree yet"
    from sqlalchemy import text
    from sqlmodel import SQLModel

    import models  # noqa: F401  (the tables)
    from config.settings import get_settings
    from models.db import get_engine
    from worker.runtime import Runtime

    rt = Runtime(get_settings())
    rt.rules.current()  # a running worker has its rules loaded, its modules imported and its statements compiled:
    reconcile(rt)  # none of that is the sweep's time
    t = SQLModel.metadata.tables
    b, old = SWEEP_BASE, "now() - interval '2 days'"
    agencies = max(1, n // 20)
    started = time.perf_counter()
    with get_engine(db_url).begin() as conn:
        conn.execute(text(_fill(t["agency"], agencies, {"id": f"{b} + g", "slug": "'sweep-' || g",
                                                        "name": "'第' || g || '局'", "level": "'department'",
                                                        "active": "true"})))
        conn.execute(text(_fill(t["report"], n, {
            "id": f"{b} + g", "agency_id": f"{b} + 1 + g % {agencies}", "url": "'http://sweep.invalid/' || g",
            "year": "2025", "status": f"CASE WHEN g <= {overdue} THEN 'discovered' ELSE 'fetched' END",
            "state_since": old, "via": "'listing'",
            "latest_snapshot_id": f"CASE WHEN g <= {overdue} THEN NULL ELSE {b} + g END"})))
        conn.execute(text(_fill(t["snapshot"], n, {
            "id": f"{b} + g", "report_id": f"{b} + g", "sha256": "md5(g::text)", "parse_status":
            f"CASE WHEN g <= {overdue} THEN 'pending' ELSE 'parsed' END",
            "work_state": f"CASE WHEN g <= {overdue} THEN 'parse' WHEN g <= {2 * overdue} THEN 'evaluate' "
                          "ELSE 'done' END", "state_since": old})))
        conn.execute(text(_fill(t["evaluation"], n, {
            "id": f"{b} + g", "snapshot_id": f"{b} + g", "ruleset_version": "'sweep'", "score": "90",
            "work_state": f"CASE WHEN g > {n - overdue} THEN 'plan' ELSE 'done' END", "state_since": old})))
        conn.execute(text(_fill(t["notice"], n, {
            "id": f"{b} + g", "dedup_key": "'sweep:' || g", "kind": "'deficiency'", "audience": "'agency'",
            "agency_id": f"{b} + 1 + g % {agencies}", "report_id": f"{b} + g", "status": "'sent'"})))
        for name in ("agency", "report", "snapshot", "evaluation", "notice"):
            conn.execute(text(f"ANALYZE {name}"))
    seeded = time.perf_counter() - started
    timings = []
    for _ in range(3):
        t0 = time.perf_counter()
        out = reconcile(rt)
        timings.append((time.perf_counter() - t0, sum(out.handed.values())))
    first, idle = timings[0], min(t for t, _ in timings[1:])
    return (f"reconciler: sweep over {n:,} reports (and their snapshots, evaluations, notices; seeded in "
            f"{seeded:.1f} s) {first[0] * 1000:.0f} ms handing out {first[1]}, {idle * 1000:.0f} ms with nothing "
            f"to hand out (goal < 200 ms)")


def scratch_schema(postgres: str) -> tuple[str, str]:
    import sqlalchemy

    schema = "nb_bench_" + uuid.uuid4().hex[:8]
    engine = sqlalchemy.create_engine(postgres)
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    return schema, f"{postgres}?options=-csearch_path%3D{schema}"


def drop_schema(postgres: str, schema: str) -> None:
    import sqlalchemy

    from models.db import dispose_engines

    dispose_engines()
    engine = sqlalchemy.create_engine(postgres)
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


def sweep_only(args, workdir: Path) -> int:
    schema, db_url = scratch_schema(args.postgres)
    os.environ.update({"NIANBAO_DATABASE_URL": db_url, "NIANBAO_HOME": str(workdir / "sweep"), "NIANBAO_TODAY": TODAY,
                       "NIANBAO_AGENCIES_FILE": str(workdir / "none.yaml")})
    try:
        from models.db import migrate

        migrate(db_url)
        print(reconciler_sweep(db_url, args.sweep))
        return 0
    finally:
        drop_schema(args.postgres, schema)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reports", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=2, help="worker processes (Celery prefork)")
    ap.add_argument("--prefetch", type=int, help="the worker's --prefetch-multiplier (default: the app's setting)")
    ap.add_argument("--skip-embedded", action="store_true", help="no embedded run (nothing to check notices against)")
    ap.add_argument("--timeout", type=float, default=600, help="seconds the distributed run may take")
    ap.add_argument("--sweep", type=int, default=100_000, help="reports in the reconciler's sweep")
    ap.add_argument("--sweep-only", action="store_true", help="only the reconciler's sweep")
    ap.add_argument("--repo", help="run the code of another checkout (compare before and after a change)")
    ap.add_argument("--count", action="store_true",
                    help="count the worker's commits, SQL statements and tasks a report (costs a little time)")
    ap.add_argument("--profile", metavar="FILE", help="record the worker with py-spy (if installed), collapsed stacks")
    ap.add_argument("--redis", default="redis://127.0.0.1:6379/13")
    ap.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = ap.parse_args()
    import logging

    logging.basicConfig(level=logging.ERROR)  # every loopback source is a warning of the agencies file
    n = args.reports
    workdir = Path(os.environ.get("TMPDIR", "/tmp")) / f"nianbao-bench-{uuid.uuid4().hex[:8]}"
    workdir.mkdir(parents=True)
    if args.sweep_only:
        return sweep_only(args, workdir)
    port = 20000 + os.getpid() % 20000
    ready = mp.Event()
    server = mp.Process(target=serve, args=(port, n, ready), daemon=True)
    server.start()
    ready.wait(30)
    agencies_file = roster(workdir / "agencies.yaml", port, n)
    load = os.getloadavg()[0]
    print(f"reports {n} ({len(KINDS)} demo reports as {n} agencies' variants), {os.cpu_count()} CPUs, "
          f"load average {load:.1f} at start")

    t_floor, cpu_floor, failing = floor(n)
    print(f"floor: parse + evaluate in-process   {n / t_floor:7.1f} reports/s  ({t_floor:.1f} s; {failing} below 100; "
          f"CPU {cpu_floor / n * 1000:.1f} ms a report)")
    expected = None
    if not args.skip_embedded:
        t_emb, expected = embedded(workdir, agencies_file)
        print(f"embedded run --once (SQLite)        {n / t_emb:7.1f} reports/s  ({t_emb:.1f} s; {expected})")

    schema, db_url = scratch_schema(args.postgres)
    prefix = f"nbbench-{uuid.uuid4().hex[:8]}:"
    env = {**os.environ, "NIANBAO_BROKER_URL": args.redis, "NIANBAO_DATABASE_URL": db_url,
           "NIANBAO_HOME": str(workdir / "distributed"), "NIANBAO_ALLOW_PRIVATE_HOSTS": "1", "NIANBAO_TODAY": TODAY,
           "NIANBAO_BROKER_KEY_PREFIX": prefix, "NIANBAO_POLL_HOST_RATE": "0",
           "NIANBAO_AGENCIES_FILE": str(agencies_file)}
    os.environ.update(env)
    worker = None
    ok = False
    try:
        from config.settings import get_settings
        from models.db import migrate
        from worker import pipeline
        from worker.runtime import Runtime

        rt = Runtime(get_settings())
        migrate(db_url)
        pipeline.refresh_roster(rt)
        log = open(workdir / "worker.log", "w")
        if args.count:  # every worker process marks each commit, statement and task in a file of its own
            env["NIANBAO_BENCH_COUNTS"] = str(workdir / "counts")
            (workdir / "counts").mkdir()
            (workdir / "bench_counts.py").write_text(COUNT_HOOK)
            env["PYTHONPATH"] = os.pathsep.join([str(workdir), str(REPO)])
        launch = ["-c", "import bench_counts, runpy; runpy.run_module('celery', run_name='__main__')"] \
            if args.count else ["-m", "celery"]
        cmd = [sys.executable, *launch, "-A", "worker.celery_app", "worker", "-Q", "fetch,work,notify",
               "--pool=prefork", f"--concurrency={args.concurrency}", "--loglevel=WARNING",
               "-n", f"bench-{uuid.uuid4().hex[:4]}@%h"]
        if args.prefetch:
            cmd.append(f"--prefetch-multiplier={args.prefetch}")
        worker = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        time.sleep(5)  # worker up and connected

        from worker.tasks import enqueue

        spy = None
        if args.profile:
            spy = subprocess.Popen([str(Path(sys.executable).parent / "py-spy"), "record", "--subprocesses",
                                    "-r", "50", "-f", "raw", "-o", args.profile, "-p", str(worker.pid)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started, cpu = time.perf_counter(), cpu_seconds(worker.pid)
        enqueue(pipeline.due_sources(rt, all_sources=True))
        want_sent = expected["sent"] if expected else None
        now = {}
        while time.perf_counter() - started < args.timeout:
            now = counts(db_url)
            if now["evaluated"] >= n and (want_sent is None or now["sent"] >= want_sent):
                if want_sent is None:  # nothing to compare with: wait until no notice is left to send
                    time.sleep(0.5)
                    again = counts(db_url)
                    if again["sent"] < again["notices"] or again != now:
                        continue
                ok = True
                break
            time.sleep(0.2)
        t_dist = time.perf_counter() - started
        cpu_worker = cpu_seconds(worker.pid) - cpu
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(30)
        now = counts(db_url)
        print(f"distributed: Celery prefork ×{args.concurrency}, Redis, PostgreSQL "
              f"{n / t_dist:7.1f} reports/s  ({t_dist:.1f} s; {now})")
        if not ok:
            print(f"  NOT FINISHED in {args.timeout:.0f} s; worker log: {workdir / 'worker.log'}")
        elif expected and (now["notices"] != expected["notices"] or now["sent"] != expected["sent"]):
            print(f"  different outcome from the embedded run: {now} vs {expected}")
            ok = False
        if args.count:
            marks = {k: 0 for k in "cst"}
            for f in (workdir / "counts").iterdir():
                data = f.read_bytes()
                for k in marks:
                    marks[k] += data.count(k.encode())
            print(f"a report: {marks['c'] / n:.2f} commits, {marks['s'] / n:.1f} SQL statements, "
                  f"{marks['t'] / n:.2f} Celery tasks (the worker's, counted by --count)")
        print(f"worker CPU {cpu_worker / n * 1000:.1f} ms a report (the floor's {cpu_floor / n * 1000:.1f} ms: "
              f"{cpu_worker / cpu_floor:.2f}×); load average {os.getloadavg()[0]:.1f} at the end")
        print(reconciler_sweep(db_url, args.sweep))
        if expected:
            print(f"distributed end to end: {t_emb / t_dist:.2f}× the embedded runner's rate")
        print(f"pipeline: {n / t_dist:.0f} reports/s end to end, {t_dist / t_floor:.2f}× the floor")
        return 0 if ok else 1
    finally:
        if worker is not None:
            os.killpg(worker.pid, signal.SIGTERM)
            try:
                worker.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
        server.terminate()
        import redis

        r = redis.Redis.from_url(args.redis)
        for key in r.scan_iter(match=prefix + "*"):
            r.delete(key)
        drop_schema(args.postgres, schema)


if __name__ == "__main__":
    sys.exit(main())
