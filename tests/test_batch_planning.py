"""A list of evaluations planned at once (worker.planning.plan_notices_many through the Celery
task's code): one that cannot be planned (an admin's own template that fails on its report)
keeps its error on its row and its planning owed, the others get their cases and notices, a
re-run writes nothing twice, and once the template is fixed the one left is planned. Real
PostgreSQL/SQLite and demo portals; what the task hands to the broker is collected."""

from __future__ import annotations

from sqlmodel import select

from models import Deficiency, Evaluation, Finding, Notice, Report, Snapshot
from models.db import session_scope
from tests.test_batches import handed  # noqa: F401  (fixture)
from tests.test_reconciler import run_losing
from worker import tasks


def test_a_failing_evaluation_keeps_its_error_and_the_rest_of_the_list_is_planned(rt, handed, tmp_path):  # noqa: F811
    lost = run_losing(rt, {"plan_notices"})
    ids = sorted(s.arg for s in lost)
    assert len(ids) >= 3 and all(s.step == "plan_notices" for s in lost)
    with session_scope(rt.db_url) as session:
        failing = sorted(set(session.exec(select(Finding.evaluation_id).where(Finding.evaluation_id.in_(ids),
                                                                              Finding.status == "fail"))))
        assert len(failing) >= 2
        victim = failing[0]
        report = session.get(Report, session.get(Snapshot, session.get(Evaluation, victim).snapshot_id).report_id)
        report.published_on = None  # a report whose page gave no date
        session.add(report)
        session.commit()
        undated = {e.id for e in session.exec(select(Evaluation).where(Evaluation.id.in_(failing)))
                   if session.get(Report, session.get(Snapshot, e.snapshot_id).report_id).published_on is None}
    # The admins' own subject line assumes every report has a publication date.
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "deficiency.subject.j2").write_text("{{ agency_name }}{{ year }}年年报（{{ published_on.year }}年发布）"
                                                     "存在{{ findings|length }}项问题\n", encoding="utf-8")
    rt.settings.templates_dir = templates
    tasks._run("plan_notices", ids)
    with session_scope(rt.db_url) as session:
        rows = {e.id: e for e in session.exec(select(Evaluation).where(Evaluation.id.in_(ids)))}
        for i in undated:
            assert rows[i].work_state == "plan" and "UndefinedError" in rows[i].last_error  # owed, with its reason
            assert not session.exec(select(Deficiency).where(Deficiency.last_evaluation_id == i)).all()
        assert all(e.work_state == "done" and not e.last_error for i, e in rows.items() if i not in undated)
        assert session.exec(select(Deficiency).where(Deficiency.last_evaluation_id.in_(set(failing) - undated))).all()
        pending = sorted(session.exec(select(Notice.id).where(Notice.status == "pending")))
        undated_reports = {session.get(Snapshot, rows[i].snapshot_id).report_id for i in undated}
        assert not session.exec(select(Notice).where(Notice.report_id.in_(undated_reports))).all()
        subjects = session.exec(select(Notice.subject).where(Notice.kind == "deficiency")).all()
    assert pending and subjects and all("年发布）存在" in s for s in subjects)
    assert [sorted(s.arg) for s in handed if s.step == "deliver"] == [pending]  # one delivery for the list

    handed.clear()
    tasks._run("plan_notices", [i for i in ids if i not in undated])  # a late duplicate: nothing new
    with session_scope(rt.db_url) as session:
        assert sorted(session.exec(select(Notice.id))) == pending
    assert not [s for s in handed if s.step == "deliver"]

    (templates / "deficiency.subject.j2").unlink()  # the admin fixes the template: the reconciler's retry plans it
    tasks._run("plan_notices", sorted(undated) + [ids[-1]])
    with session_scope(rt.db_url) as session:
        assert all(session.get(Evaluation, i).work_state == "done" for i in undated)
        new = sorted(session.exec(select(Notice.id).where(Notice.report_id.in_(undated_reports))))
    assert new and [sorted(s.arg) if isinstance(s.arg, list) else [s.arg] for s in handed if s.step == "deliver"] == [new]
