"""Bring the database in line with the agencies file: upsert the office, agencies and sources by
their natural keys (slug, url); agencies and sources removed from the file are deactivated, not
deleted, so their history stays."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from config.agencies import Roster
from models import Agency, Office, Source


@dataclass
class SyncResult:
    agencies: int
    sources: int
    deactivated: int


def sync_roster(session: Session, roster: Roster) -> SyncResult:
    office = session.exec(select(Office)).first() or Office(name=roster.office_name)
    office.name, office.notify = roster.office_name, list(roster.office_notify)
    office.admins = list(roster.admins_notify)
    session.add(office)

    existing = {a.slug: a for a in session.exec(select(Agency))}
    wanted = {spec.slug for spec in roster.agencies}
    sources = 0
    for spec in roster.agencies:
        agency = existing.get(spec.slug) or Agency(slug=spec.slug, name=spec.name, level=spec.level)
        agency.name, agency.level, agency.region = spec.name, spec.level, spec.region
        agency.deadline, agency.active = spec.deadline, True
        agency.notify, agency.allowed_hosts = list(spec.notify), list(spec.allowed_hosts)
        agency.polling = dict(getattr(spec, "polling", None) or {}) or None
        agency.rulemaking = spec.rulemaking
        session.add(agency)
        session.flush()
        current = {s.url: s for s in session.exec(select(Source).where(Source.agency_id == agency.id))}
        for src in spec.sources:
            row = current.pop(src.url, None) or Source(agency_id=agency.id, url=src.url)
            row.kind, row.active = src.kind, True
            session.add(row)
            sources += 1
        for stale in current.values():
            stale.active = False
            session.add(stale)
    deactivated = 0
    for slug, agency in existing.items():
        if slug not in wanted and agency.active:
            agency.active = False
            session.add(agency)
            deactivated += 1
    session.commit()
    return SyncResult(agencies=len(roster.agencies), sources=sources, deactivated=deactivated)
