"""Every page of the console in headless Chromium at a desk (1,400 px) and on a phone (375 px),
on the demo's data over several days: nothing wider than the screen, the page's main element
shown, chart labels inside their pictures, and a full-page screenshot of each saved as a test
artifact under var/test-artifacts/screens/ (NIANBAO_TEST_ARTIFACTS to put them elsewhere)."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlmodel import select

from models import Agency, Notice, Report, Snapshot
from models.db import session_scope
from tests.conftest import REPO
from tests.web.conftest import DIRECTOR, headless_chromium, serving

ARTIFACTS = Path(os.environ.get("NIANBAO_TEST_ARTIFACTS", REPO / "var" / "test-artifacts")) / "screens"
WIDTHS = (1400, 375)


@pytest.fixture(scope="module")
def site(world_app):
    with serving(world_app) as base:
        yield base


@pytest.fixture(scope="module")
def chromium(site):
    with headless_chromium() as browser:
        yield browser


def pages_of(world) -> dict[str, tuple[str, str]]:
    """name -> (path, the element that must be visible)."""
    with session_scope(world.db_url) as session:
        fgj = session.exec(select(Agency.id).where(Agency.slug == "qinghe-fgj")).one()
        report = session.exec(select(Report).where(Report.agency_id == fgj, Report.year == 2025)).one()
        first = session.exec(select(Snapshot.id).where(Snapshot.report_id == report.id).order_by(Snapshot.id)).first()
        wjw = session.exec(select(Report.id).join(Agency, Agency.id == Report.agency_id)
                           .where(Agency.slug == "songlin-wjw", Report.year == 2025)).one()
        notice = session.exec(select(Notice.id).where(Notice.kind == "deficiency").order_by(Notice.id)).first()
    return {
        "overview": ("/", "#overview"),
        "deficiencies": ("/deficiencies", "h2#group-overdue"),
        "region": (f"/regions/{quote('青河区')}", "#region-agencies"),
        "agency": ("/agencies/qinghe-fgj", "#reports"),
        "report": (f"/reports/{report.id}?snapshot={first}", "#apply td.flagged"),
        "report-not-evaluated": (f"/reports/{wjw}", "#not-evaluated"),
        "notices": ("/notices", "#outbox"),
        "notice": (f"/notices/{notice}", "pre"),
        "silences": ("/silences", "#silence-list"),
        "rules": ("/rules", "#rules"),
        "api-docs": ("/docs", ".swagger-ui"),
    }


@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_fits_the_screen_and_is_saved_as_a_screenshot(world, site, chromium, width):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = chromium.new_context(viewport={"width": width, "height": 900}, device_scale_factor=1)
    page = context.new_page()
    page.goto(f"{site}/login")
    page.screenshot(path=str(ARTIFACTS / f"login-{width}.png"), full_page=True)
    page.fill("input[name=username]", DIRECTOR[0])
    page.fill("input[name=password]", DIRECTOR[1])
    page.click("button[type=submit]")
    page.wait_for_selector("#overview")
    outside: list[str] = []
    for name, (path, must_show) in pages_of(world).items():
        page.goto(site + path)
        page.wait_for_selector(must_show, state="visible", timeout=15_000)
        page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)
        if name == "api-docs":
            continue  # Swagger UI's own layout
        overflow = page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= width, f"{name} is {overflow} px wide at {width} px"
        # Every chart label inside its picture (the old trend chart cut "100" off at the top).
        outside += page.evaluate("""() => [...document.querySelectorAll('main svg')].flatMap(svg => {
            const view = svg.viewBox.baseVal;
            const box = view && view.width ? view : {x: 0, y: 0, width: svg.width.baseVal.value,
                                                     height: svg.height.baseVal.value};
            return [...svg.querySelectorAll('text')].filter(t => { const b = t.getBBox();
                return b.x < box.x - 0.5 || b.y < box.y - 0.5 || b.x + b.width > box.x + box.width + 0.5
                       || b.y + b.height > box.y + box.height + 0.5; }).map(t => t.textContent); })""")
    assert not outside, f"chart labels outside their picture at {width} px: {outside}"
    context.close()
    assert len(list(ARTIFACTS.glob(f"*-{width}.png"))) >= 12


def test_the_charts_are_drawn_on_the_server_with_nothing_from_elsewhere(world, site, chromium):
    page = chromium.new_page(viewport={"width": 1400, "height": 900})
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{site}/login")
    page.fill("input[name=username]", DIRECTOR[0])
    page.fill("input[name=password]", DIRECTOR[1])
    page.click("button[type=submit]")
    page.wait_for_selector("#overview")
    assert page.locator("#charts svg.chart").count() == 3
    assert page.evaluate("document.scripts.length") == 0  # no script at all on the console's pages
    page.goto(f"{site}/docs")
    page.wait_for_selector(".swagger-ui .info", timeout=15_000)  # the API browser renders, offline
    assert all(url.startswith(site) for url in requested), [u for u in requested if not u.startswith(site)]
