"""End to end in headless Chromium (Debian's chromium, driven by Playwright's Python package;
no browser is ever downloaded): the app served by uvicorn on loopback over a database seeded
by a real pipeline run."""

from __future__ import annotations

import pytest

from tests.web.conftest import ADMIN, VIEWER, headless_chromium, serving


@pytest.fixture
def browser(served):
    """Depends on `served`: the pipeline seeds the database before Playwright's event loop starts."""
    with headless_chromium() as b:
        yield b


@pytest.fixture
def served(app):
    with serving(app, start_seconds=10) as base:
        yield base


def _sign_in(page, base: str, user: tuple[str, str]) -> None:
    page.goto(f"{base}/")
    assert "/login" in page.url
    page.fill("input[name=username]", user[0])
    page.fill("input[name=password]", user[1])
    page.click("button[type=submit]")
    page.wait_for_selector("#overview")


def test_overview_report_and_an_admins_silence_in_the_browser(browser, served):
    page = browser.new_page()
    _sign_in(page, served, ADMIN)
    states = {row.get_attribute("data-slug"): row.get_attribute("data-state")
              for row in page.query_selector_all("#overview tbody tr")}
    from tests.test_pipeline import EXPECTED_STATES

    assert states == EXPECTED_STATES
    assert "政府部门年报截止" in page.inner_text("#countdown")

    # The report page: the cells ARI-01 concerns are highlighted, the others are not.
    page.click("#overview tr[data-slug=qinghe-fgj] a")
    page.click("#reports a:has-text('2025')")
    cell = page.locator("#apply td[data-field='apply.new.natural']")
    assert "flagged" in cell.get_attribute("class")
    assert cell.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(255, 215, 215)"
    plain = page.locator("#apply td[data-field='apply.granted.natural']")
    assert plain.evaluate("e => getComputedStyle(e).backgroundColor") != "rgb(255, 215, 215)"
    assert page.locator("#findings .finding[data-rule=ARI-01]").count() == 2

    # Silence ARI-01 from the report page; the overview shows it.
    finding = page.locator("#findings .finding[data-rule=ARI-01]").first
    finding.locator("details.silence-box summary").click()
    form = finding.locator("form.silence")
    form.locator("input[name=reason]").fill("核实中")
    form.locator("button").click()
    page.wait_for_selector("#flash")
    assert "已静默规则 ARI-01" in page.inner_text("#flash")
    page.goto(f"{served}/")
    assert page.inner_text("#overview tr[data-slug=qinghe-fgj] td.silenced") == "ARI-01"


def test_a_read_only_user_gets_no_action_forms(browser, served):
    page = browser.new_page()
    _sign_in(page, served, VIEWER)
    page.click("#overview tr[data-slug=qinghe-fgj] a")
    page.click("#reports a:has-text('2025')")
    assert page.locator("#findings .finding[data-rule=ARI-01]").count() == 2
    assert page.locator("form.silence").count() == 0
    # Posting the form anyway, with the session's valid CSRF token, is refused for the role.
    status = page.evaluate("""async () => {
        const csrf = document.querySelector('input[name=csrf_token]').value;
        const body = new URLSearchParams({rule_id: 'ARI-01', until: '2026-12-31', reason: 'x', agency: 'qinghe-fgj',
                                          csrf_token: csrf});
        return (await fetch('/actions/silence', {method: 'POST', body})).status; }""")
    assert status == 403
