"""How fast the dashboard answers with many agencies: 2,000 agencies and 20,000 reports
(one snapshot and evaluation each, a few open deficiencies and notices) in PostgreSQL.

    .venv/bin/python bench/web.py [--agencies 2000] [--years 10] [--rounds 5] [--url postgresql+psycopg://…]

Seeds a schema of its own (dropped afterwards), serves the app in-process (TestClient, the
same ASGI stack as uvicorn) and prints the median and worst time of each page and endpoint.
The target of issue 7 is under 200 ms per page; the last column is each median as a multiple of
/healthz's (the same stack, a few small queries and the rule files' fingerprint), measured in the same run, since this
machine is noisy. The CSV/XLSX exports are downloads of every row, not pages, and listed for
information.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def seed(url: str, agencies: int, years: int) -> None:
    from sqlalchemy import insert

    from models import Agency, Deficiency, Evaluation, Notice, Report, Snapshot, Source
    from models.db import get_engine, migrate

    migrate(url)
    engine = get_engine(url)
    parsed = {"meta": {"year": 2025, "template": "2021"},
              "sections": {k: {"present": True, "heading": k, "chars": 500}
                           for k in ("overview", "active", "requests", "appeals", "problems", "other")},
              "fields": {f"apply.new.{c}": 1 for c in ("natural", "business", "total")}, "where": {}}
    last = 2025
    with engine.begin() as conn:
        conn.execute(insert(Agency), [dict(id=i, slug=f"a{i:05d}", name=f"示范区第{i}局", level="department" if i % 5 else "government",
                                           region=f"区{i % 40}", notify=[], allowed_hosts=[], active=True)
                                      for i in range(1, agencies + 1)])
        conn.execute(insert(Source), [dict(id=i, agency_id=i, url=f"http://example.invalid/{i}/", kind="listing",
                                           status="ok", failures=0, active=True, last_ok_on=date(2026, 6, 1))
                                      for i in range(1, agencies + 1)])
        rid = 0
        reports, snaps, evals = [], [], []
        for i in range(1, agencies + 1):
            for y in range(last - years + 1, last + 1):
                if y == last and i % 7 == 0:
                    continue  # some agencies have not published this year's report
                rid += 1
                reports.append(dict(id=rid, agency_id=i, source_id=i, url=f"http://example.invalid/{i}/{y}.html",
                                    title=f"示范区第{i}局{y}年政府信息公开工作年度报告", year=y, published_on=date(y + 1, 1, 20),
                                    status="fetched", latest_snapshot_id=rid, via="listing", confidence=1.0,
                                    ambiguous=False, backdated=False, edit_count=0))
                snaps.append(dict(id=rid, report_id=rid, sha256=uuid.uuid4().hex * 2, content_type="text/html", size=1000,
                                  parse_status="parsed", parse_error="", parser_version="1", parsed=parsed, year=y))
                evals.append(dict(id=rid, snapshot_id=rid, ruleset_version="bench", score=60 + (i * y) % 41,
                                  grade="良", failed=1, not_evaluated=0))
        for table, rows in ((Report, reports), (Snapshot, snaps), (Evaluation, evals)):
            for k in range(0, len(rows), 5000):
                conn.execute(insert(table), rows[k:k + 5000])
        conn.execute(insert(Deficiency), [dict(agency_id=i, year=last, rule_id="ARI-01", subject="", severity="error",
                                               title="勾稽关系不符", message="…", state="open")
                                          for i in range(1, agencies + 1, 3)])
        conn.execute(insert(Notice), [dict(dedup_key=f"bench-{i}", kind="deficiency", audience="agency", agency_id=i,
                                           subject=f"【整改通知】{i}", body="…", body_html="", attachment_name="",
                                           attachment="", status="sent" if i % 10 else "failed", attempts=1,
                                           last_error="", acked_by="") for i in range(1, agencies + 1)])
        if url.startswith("postgresql"):
            for t in ("agency", "source", "report", "snapshot", "evaluation"):
                conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), (SELECT max(id) FROM {t}))")
    print(f"seeded {agencies} agencies, {rid} reports")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agencies", type=int, default=2000)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--url", default=os.environ.get("NIANBAO_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    args = parser.parse_args()

    import sqlalchemy
    from fastapi.testclient import TestClient

    from config.settings import Settings
    from models.db import dispose_engines
    from web.app import create_app
    from web.auth import accounts_from_env, hash_token
    from worker.runtime import Runtime

    schema, url = args.url, args.url
    if args.url.startswith("postgresql"):
        schema = "nb_bench_" + uuid.uuid4().hex[:8]
        engine = sqlalchemy.create_engine(args.url)
        with engine.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        engine.dispose()
        url = f"{args.url}{'&' if '?' in args.url else '?'}options=-csearch_path%3D{schema}"
    try:
        started = time.perf_counter()
        seed(url, args.agencies, args.years)
        print(f"seeding took {time.perf_counter() - started:.1f}s")
        home = Path(tempfile.mkdtemp())
        rt = Runtime(Settings(home=home, database_url=url, today=date(2026, 6, 30), broker_url=""))
        app = create_app(rt, accounts_from_env({"NIANBAO_WEB_TOKENS": f"bench:{hash_token('bench')}:viewer"}),
                         secret="bench")
        client = TestClient(app, headers={"Authorization": "Bearer bench"})
        paths = ["/healthz", "/", "/?state=missing&sort=score&order=desc", "/api/agencies",
                 "/api/agencies?state=missing&sort=score&order=desc", "/api/agencies.csv", "/api/agencies.xlsx",
                 "/rules", "/agencies/a00042", "/reports/42", "/api/reports?agency=a00042", "/api/findings?limit=200",
                 "/notices", "/api/notices?status=failed", "/metrics"]
        print(f"{'path':55} {'median ms':>10} {'worst ms':>10} {'× healthz':>10}")
        baseline = None
        for path in paths:
            times = []
            for i in range(args.rounds + 1):
                t = time.perf_counter()
                r = client.get(path)
                if i:  # the first request of each path warms statement caches and is not counted
                    times.append((time.perf_counter() - t) * 1000)
                assert r.status_code == 200, (path, r.status_code, r.text[:200])
            median = statistics.median(times)
            baseline = baseline or median  # /healthz: the same stack and a few small queries
            export = path.split("?")[0].endswith((".csv", ".xlsx"))
            flag = "  over the 200 ms target" if median >= 200 and not export else ""
            print(f"{path:55} {median:10.1f} {max(times):10.1f} {median / baseline:10.1f}{flag}")
    finally:
        dispose_engines()
        if args.url.startswith("postgresql"):
            engine = sqlalchemy.create_engine(args.url)
            with engine.begin() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
