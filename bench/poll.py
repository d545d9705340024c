"""Poll 10,000 agencies through Redis + Celery, next to the plain-client baseline of the same run.

    .venv/bin/python bench/poll.py [--agencies 10000] [--changed 0.01] [--workers 2] [--concurrency 25]

A local aiohttp server (its own process) plays the agencies: agency i lives on host
127.0.x.y (five agencies a host; every 127/8 address is loopback on Linux), path /a{i}/. Each
listing page already polled once answers 304 to its ETag; 1% changed since and show a new
2025 report. The database (a fresh PostgreSQL schema, or SQLite with --sqlite) holds the
agencies, their sources with the ETags of the last poll, and each agency's 2024 report.

Measured, in this order and on the same URLs and ETags:
1. baseline: aiohttp fetching every listing URL at the same concurrency, no queue, no database;
2. baseline: one reused sync httpx client in threads, same concurrency;
3. nianbao: due_sources (claims and batches the sources) → poll_batch tasks on Redis → Celery
   worker(s) → every source polled and stored, the new reports found and fetched (snapshots).
Prints agencies polled a second, the ratio to the faster baseline, and the workers' peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
PER_HOST = 5
REPORT = ("<html><head><meta charset='utf-8'><title>{name}2025年政府信息公开工作年度报告</title></head><body>"
          "<h1>{name}2025年政府信息公开工作年度报告</h1><p>发布时间：2026-01-20</p><p>一、总体情况</p>"
          "<p>二、主动公开政府信息情况</p><p>三、收到和处理政府信息公开申请情况</p><p>四、政府信息公开行政复议、行政诉讼情况</p>"
          "<p>五、存在的主要问题及改进情况</p><p>六、其他需要报告的事项</p></body></html>")


def host(i: int) -> str:
    h = i // PER_HOST
    return f"127.0.{h // 250}.{1 + h % 250}"


def changed(i: int, every: int) -> bool:
    return i % every == every // 2


def listing(i: int, new: bool) -> bytes:
    items = [f'<li><a href="nb2024.html">第{i}局2024年政府信息公开工作年度报告</a><span>2025-01-20</span></li>']
    if new:
        items.insert(0, f'<li><a href="nb2025.html">第{i}局2025年政府信息公开工作年度报告</a><span>2026-01-20</span></li>')
    items.append('<li><a href="yd.html">2025年政务公开工作要点</a><span>2025-03-01</span></li>')
    return ("<html><head><meta charset='utf-8'><title>政府信息公开年报</title></head><body><ul>"
            + "".join(items) + "</ul></body></html>").encode()


def serve(port: int, n: int, every: int, ready) -> None:
    from aiohttp import web

    async def handle(request):
        parts = request.path.strip("/").split("/")
        i = int(parts[0][1:])
        new = changed(i, every)
        if len(parts) == 1 or parts[1] in ("", "index.html"):
            etag = '"v2"' if new else '"v1"'
            if request.headers.get("If-None-Match") == etag:
                return web.Response(status=304, headers={"ETag": etag})
            return web.Response(body=listing(i, new), headers={"ETag": etag, "Content-Type": "text/html; charset=utf-8"})
        if parts[1] == "nb2025.html" and new:
            return web.Response(body=REPORT.format(name=f"第{i}局").encode(), headers={"ETag": '"r1"',
                                "Content-Type": "text/html; charset=utf-8"})
        if parts[1] == "nb2024.html":
            return web.Response(status=304, headers={"ETag": '"r0"'})
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


def urls(port: int, n: int) -> list[str]:
    return [f"http://{host(i)}:{port}/a{i}/" for i in range(n)]


def etag_sent(i: int) -> str:
    return '"v1"'  # what the last poll stored: the changed ones have moved on to "v2"


async def baseline_aiohttp(us: list[str], concurrency: int) -> float:
    import aiohttp

    sem = asyncio.Semaphore(concurrency)
    started = time.perf_counter()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency, limit_per_host=2)) as s:
        async def one(i, u):
            async with sem:
                async with s.get(u, headers={"If-None-Match": etag_sent(i)}) as r:
                    await r.read()
                    return r.status
        statuses = await asyncio.gather(*(one(i, u) for i, u in enumerate(us)))
    elapsed = time.perf_counter() - started
    assert statuses.count(304) + statuses.count(200) == len(us), set(statuses)
    return elapsed


def baseline_httpx(us: list[str], concurrency: int) -> float:
    import httpx

    client = httpx.Client(limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency))

    def one(iu):
        for _ in range(3):  # the pool closing idle connections under threads can fail a request: retry it
            try:
                return client.get(iu[1], headers={"If-None-Match": etag_sent(iu[0])}).status_code
            except httpx.TransportError:
                continue
        return 0

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        statuses = list(pool.map(one, enumerate(us)))
    elapsed = time.perf_counter() - started
    client.close()
    if statuses.count(0):
        print(f"  (httpx: {statuses.count(0)} requests failed three times)")
    return elapsed


def seed(db_url: str, port: int, n: int, every: int) -> None:
    """Agencies, sources as left by the last poll, each agency's 2024 report: bulk inserts."""
    from datetime import date, datetime, timedelta, timezone

    from sqlalchemy import insert

    from models import Agency, Report, Source
    from models.db import migrate, session_scope

    migrate(db_url)
    now = datetime.now(timezone.utc)
    later = now + timedelta(days=7)
    with session_scope(db_url) as session:
        session.execute(insert(Agency), [dict(id=i + 1, slug=f"a{i}", name=f"第{i}局", level="department", region="",
                                              notify=[], allowed_hosts=[host(i)], active=True) for i in range(n)])
        session.execute(insert(Source), [dict(id=i + 1, agency_id=i + 1, url=u, kind="listing", etag=etag_sent(i),
                                              failures=0, status="ok", status_reason="", active=True, created_at=now,
                                              last_ok_at=now - timedelta(hours=6), last_ok_on=date(2026, 1, 19),
                                              next_poll_at=now - timedelta(minutes=1))
                                         for i, u in enumerate(urls(port, n))])
        session.execute(insert(Report), [dict(agency_id=i + 1, source_id=i + 1, url=f"{u}nb2024.html", title="2024年报",
                                              year=2024, first_seen_at=now, status="fetched", status_reason="",
                                              via="listing", confidence=0.95, ambiguous=False, backdated=False,
                                              edit_count=0, next_check_at=later, etag='"r0"')
                                         for i, u in enumerate(urls(port, n))])
        session.commit()
        if db_url.startswith("postgresql"):
            from sqlalchemy import text

            for table in ("agency", "source", "report"):
                session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                     f"(SELECT max(id) FROM {table}))"))
            session.commit()


def progress(db_url: str, since) -> tuple[int, int]:
    from sqlalchemy import func
    from sqlmodel import select

    from models import Report, Source
    from models.db import session_scope

    with session_scope(db_url) as session:
        polled = session.exec(select(func.count()).select_from(Source).where(Source.last_polled_at >= since)).one()
        fetched = session.exec(select(func.count()).select_from(Report).where(
            Report.year == 2025, Report.status == "fetched")).one()
    return polled, fetched


def failures(db_url: str) -> dict:
    from sqlalchemy import func
    from sqlmodel import select

    from models import Report, Source
    from models.db import session_scope

    with session_scope(db_url) as session:
        out = dict(session.exec(select(Source.status_reason, func.count()).where(Source.status == "failed")
                                .group_by(Source.status_reason)).all())
        out.update({f"report: {k}": v for k, v in session.exec(
            select(Report.status_reason, func.count()).where(Report.status == "fetch_failed")
            .group_by(Report.status_reason)).all()})
    return out


def peak_rss_mb(pids: list[int]) -> dict[int, float]:
    out = {}
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    out[pid] = int(line.split()[1]) / 1024
        except FileNotFoundError:
            pass
    return out


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--agencies", type=int, default=10_000)
    ap.add_argument("--changed", type=float, default=0.01, help="share of agencies with a new report")
    ap.add_argument("--concurrency", type=int, default=25, help="concurrent requests (per worker process)")
    ap.add_argument("--batch", type=int, default=500, help="sources per poll task")
    ap.add_argument("--workers", type=int, default=2, help="worker processes")
    ap.add_argument("--pool", default="prefork", choices=("solo", "prefork"))
    ap.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    ap.add_argument("--redis", default="redis://127.0.0.1:6379/14")
    ap.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = ap.parse_args()
    n, every = args.agencies, max(1, round(1 / args.changed))
    new_reports = sum(1 for i in range(n) if changed(i, every))
    workdir = Path(os.environ.get("TMPDIR", "/tmp")) / f"nianbao-bench-{uuid.uuid4().hex[:8]}"
    workdir.mkdir(parents=True)

    port = 20000 + os.getpid() % 20000
    ready = mp.Event()
    server = mp.Process(target=serve, args=(port, n, every, ready), daemon=True)
    server.start()
    ready.wait(20)
    us = urls(port, n)
    total_concurrency = args.concurrency * (args.workers if args.pool == "solo" else args.workers)
    asyncio.run(baseline_aiohttp(us[:500], total_concurrency))  # warm up the server
    t_aio = asyncio.run(baseline_aiohttp(us, total_concurrency))
    t_httpx = baseline_httpx(us, total_concurrency)
    best = min(t_aio, t_httpx)
    print(f"agencies {n}, new reports {new_reports}, concurrency {total_concurrency}")
    print(f"baseline aiohttp           {n / t_aio:8.0f} agencies/s  ({t_aio:.2f} s)")
    print(f"baseline httpx sync+threads{n / t_httpx:8.0f} agencies/s  ({t_httpx:.2f} s)")

    schema = None
    if args.sqlite:
        db_url = f"sqlite:///{workdir / 'bench.db'}"
    else:
        import sqlalchemy

        schema = "nb_bench_" + uuid.uuid4().hex[:8]
        engine = sqlalchemy.create_engine(args.postgres)
        with engine.begin() as conn:
            conn.execute(sqlalchemy.text(f'CREATE SCHEMA "{schema}"'))
        engine.dispose()
        db_url = f"{args.postgres}?options=-csearch_path%3D{schema}"
    prefix = f"nbbench-{uuid.uuid4().hex[:8]}:"
    env = {**os.environ, "NIANBAO_BROKER_URL": args.redis, "NIANBAO_DATABASE_URL": db_url,
           "NIANBAO_HOME": str(workdir / "home"), "NIANBAO_ALLOW_PRIVATE_HOSTS": "1", "NIANBAO_TODAY": "2026-01-25",
           "NIANBAO_BROKER_KEY_PREFIX": prefix, "NIANBAO_POLL_BATCH_SIZE": str(args.batch),
           "NIANBAO_POLL_CONCURRENCY": str(args.concurrency), "NIANBAO_POLL_HOST_RATE": "0",
           "NIANBAO_AGENCIES_FILE": str(workdir / "none.yaml")}
    os.environ.update(env)
    workers = []
    try:
        t = time.perf_counter()
        seed(db_url, port, n, every)
        print(f"seeded the database in {time.perf_counter() - t:.1f} s ({'SQLite' if args.sqlite else 'PostgreSQL'})")
        log = open(workdir / "worker.log", "w")
        for w in range(args.workers if args.pool == "solo" else 1):
            cmd = [sys.executable, "-m", "celery", "-A", "worker.celery_app", "worker", "-Q", "fetch",
                   f"--pool={args.pool}", "--loglevel=WARNING", "-n", f"bench{w}-{uuid.uuid4().hex[:4]}@%h"]
            if args.pool == "prefork":
                cmd.append(f"--concurrency={args.workers}")
            workers.append(subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT))
        time.sleep(4)  # workers up and connected

        from config.settings import get_settings
        from worker import pipeline
        from worker.runtime import Runtime
        from worker.tasks import enqueue

        rt = Runtime(get_settings())
        from datetime import datetime, timezone

        since = datetime.now(timezone.utc)
        started = time.perf_counter()
        steps = pipeline.due_sources(rt)
        enqueue(steps)
        enqueued = time.perf_counter() - started
        polled = fetched = 0
        polled_at = None
        while time.perf_counter() - started < 180:
            polled, fetched = progress(db_url, since)
            if polled >= n and polled_at is None:
                polled_at = time.perf_counter() - started
            if polled >= n and fetched >= new_reports:
                break
            time.sleep(0.1)
        elapsed = time.perf_counter() - started
        failed = failures(db_url)
        if failed:
            print(f"  failed polls: {failed}")
        print(f"  every source polled after {polled_at or float('nan'):.2f} s")
        pids = [p.pid for p in workers] + [c for p in workers for c in children(p.pid)]
        rss = peak_rss_mb(pids)
        print(f"nianbao Celery+Redis       {n / elapsed:8.0f} agencies/s  ({elapsed:.2f} s; {len(steps)} tasks of "
              f"≤{args.batch}, enqueued in {enqueued:.2f} s; polled {polled}, new reports fetched "
              f"{fetched}/{new_reports})")
        print(f"ratio to the faster baseline: {elapsed / best:.2f}×  (goal ≤ 2×; full poll goal < 60 s)")
        print("worker peak RSS: " + ", ".join(f"pid {p} {m:.0f} MB" for p, m in rss.items())
              + f"; largest {max(rss.values(), default=0):.0f} MB (goal < 300 MB)")
        return 0 if polled >= n and fetched >= new_reports else 1
    finally:
        for p in workers:
            p.send_signal(signal.SIGTERM)
        for p in workers:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
        server.terminate()
        import redis

        r = redis.Redis.from_url(args.redis)
        for key in r.scan_iter(match=prefix + "*"):
            r.delete(key)
        if schema:
            import sqlalchemy

            from models.db import dispose_engines

            dispose_engines()
            engine = sqlalchemy.create_engine(args.postgres)
            with engine.begin() as conn:
                conn.execute(sqlalchemy.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
