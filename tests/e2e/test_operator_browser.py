"""The operator's first hour in a real browser, against ``dev.py serve`` over HTTP.

Debian's chromium, driven by Playwright, at a 1366 px wide window: log in, add a Credly organization
and an Accredible API config, sync them, configure a template's groups, data rules and a penalty,
activate it, send a learner's events, watch the progress and the issued badge, and retry an issue
the provider refused. Every main page must be styled (the admin's CSS is served with DEBUG off) and
must not scroll sideways. The screenshots the documentation shows are saved on the way, into
``docs/_static/screenshots/`` (``BADGES_SCREENSHOTS_DIR`` moves them).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from badges.conf import COURSE_PASSING_STATUS_UPDATED
from badges.testing.fake_provider import FakeProviderControl
from tests.e2e.bus_support import ROOT
from tests.e2e.test_demo import DEV, demo_env, served  # noqa: F401 - fixtures of the README's serve command

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

CHROMIUM = os.environ.get("BADGES_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(os.environ.get("BADGES_SCREENSHOTS_DIR") or ROOT / "docs" / "_static" / "screenshots")
WIDTH, HEIGHT = 1366, 768
ORG_UUID = "5f1c7a2e-3b4d-4e6f-8a9b-0c1d2e3f4a5b"
ORG_KEY = "operations-org-key"
ACCREDIBLE_KEY = "operations-accredible-key"
CLOUD_101 = "course-v1:OpsX+Cloud101+2026"
CLOUD_201 = "course-v1:OpsX+Cloud201+2026"
LEARNER = "ops-learner"


@pytest.fixture
def browser_page():
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `apt-get install -y chromium` (scripts/dev.py test does it as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
        page = context.new_page()
        page.set_default_timeout(30_000)
        yield page
        context.close()
        browser.close()


def check_page(page, screenshot: str | None = None, *, full_page: bool = False) -> None:
    """The page is styled by the admin's CSS, fits 1366 px, and (optionally) is saved for the docs.

    The screenshot is taken first, so a failing page can be looked at.
    """
    if screenshot:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{screenshot}.png"), full_page=full_page)
    header_background = page.evaluate("getComputedStyle(document.getElementById('header')).backgroundColor")
    assert header_background not in ("rgba(0, 0, 0, 0)", "transparent"), f"unstyled page: {page.url}"
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{page.url} is {overflow} px wider than a {WIDTH} px window"
    # A change list scrolls inside its own box: its last columns would be cut off, not the page widened.
    hidden = page.evaluate("Math.max(0, ...[...document.querySelectorAll('.results')]"
                           ".map(e => e.scrollWidth - e.clientWidth))")
    assert hidden <= 0, f"{page.url}: {hidden} px of the list's columns are cut off at {WIDTH} px"


def messages(page) -> str:
    """The admin's messages on the page the last click led to (waits for that page to load)."""
    page.wait_for_load_state()
    return " ".join(page.locator("ul.messagelist li").all_inner_texts())


def run_action(page, base: str, model: str, row_text: str, action: str) -> str:
    """Select the list row containing ``row_text``, run ``action``; the messages shown after it."""
    page.goto(f"{base}/admin/badges/{model}/")
    page.locator("#result_list tr", has_text=row_text).locator("input.action-select").check()
    page.select_option("select[name=action]", action)
    page.click("button[name=index]")
    page.wait_for_load_state()
    return messages(page)


def send_events(env: dict[str, str], *courses: str) -> str:
    args = [arg for course in courses for arg in ("--course", course)]
    result = subprocess.run([sys.executable, str(DEV), "demo-events", "--username", LEARNER, *args],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def add_rules(page, rules: list[tuple[str, str, str]]) -> None:
    """Fill the data rules inline of a requirement's or penalty's page, adding rows with its link."""
    for index, (key_path, operator, value) in enumerate(rules):
        if index:
            page.click("#rules-group .add-row a")
        page.select_option(f"#id_rules-{index}-data_path", key_path)
        page.select_option(f"#id_rules-{index}-operator", label=operator)
        page.fill(f"#id_rules-{index}-value", value)


def test_operator_configures_a_badge_and_a_learner_earns_it(served, demo_env, browser_page) -> None:  # noqa: F811
    base, username, password = served
    page = browser_page
    fake = FakeProviderControl(json.loads((Path(demo_env["DEV_VAR_DIR"]) / "demo.json").read_text())["fake_provider"])
    fake.add_credly_organization(api_key=ORG_KEY, name="Operations Academy", organization_id=ORG_UUID)
    # Fixed ids keep the screenshots alike from run to run (the image colours derive from them).
    fake.add_credly_template(ORG_UUID, name="Cloud Operations", description="Cloud 101 and Cloud 201.",
                             template_id="0c0a7d1e-2b3c-4d5e-8f90-a1b2c3d4e5f6")
    security = fake.add_credly_template(ORG_UUID, name="Security Basics", description="Not configured here.",
                                        template_id="5ec0b1a5-1c2d-4e3f-9a8b-7c6d5e4f3a2b")
    fake.add_accredible_account(api_key=ACCREDIBLE_KEY, name="Operations Academy")
    fake.add_accredible_group(api_key=ACCREDIBLE_KEY, name="Data Literacy", course_description="A group.")

    # Log in: the login page is styled too.
    page.goto(f"{base}/admin/login/")
    check_page(page, "admin-login")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base}/admin/")
    check_page(page, "admin-index", full_page=True)

    # Provider accounts: the key is checked against the provider, then the sync actions.
    page.goto(f"{base}/admin/badges/credlyorganization/add/")
    page.fill("#id_uuid", ORG_UUID)
    page.fill("#id_api_key", ORG_KEY)
    check_page(page, "credly-organization-add")
    page.click("input[name=_save]")
    assert "was added successfully" in messages(page)
    assert "Operations Academy" in page.inner_text("#result_list")
    assert "2 created" in run_action(page, base, "credlyorganization", "Operations Academy",
                                     "sync_organization_badge_templates")
    check_page(page, "badges-admin-credly-templates-sync")

    page.goto(f"{base}/admin/badges/accredibleapiconfig/add/")
    page.fill("#id_name", "Operations Accredible")
    page.fill("#id_api_key", ACCREDIBLE_KEY)
    page.click("input[name=_save]")
    assert "was added successfully" in messages(page)
    assert "1 created" in run_action(page, base, "accredibleapiconfig", "Operations Accredible", "sync_groups")
    check_page(page, "badges-admin-groups-sync")
    page.goto(f"{base}/admin/badges/accrediblegroup/")
    check_page(page, "accredible-groups")

    # The synced template, inactive, with its image and provider dashboard link.
    page.goto(f"{base}/admin/badges/credlybadgetemplate/")
    check_page(page, "credly-templates")
    images = page.locator("#result_list img")
    assert images.count() >= 3
    assert all(page.evaluate("img => img.complete && img.naturalWidth > 0", img.element_handle())
               for img in images.all()), "a template image did not load"
    page.click("#result_list a:text-is('Cloud Operations')")
    template_url = page.url
    dashboard = page.locator("a:text-is('open')").get_attribute("href")
    assert f"mgmt/organizations/{ORG_UUID}/badges/templates/" in dashboard

    # Two groups: A (Cloud 101) and B (Cloud 201); activated before their rules exist -> warnings.
    assert page.input_value("#id_requirements-0-group") == "A"
    page.select_option("#id_requirements-0-event_type", COURSE_PASSING_STATUS_UPDATED)
    page.fill("#id_requirements-0-description", "Pass Cloud 101")
    page.click("#requirements-group .add-row a")
    page.select_option("#id_requirements-1-group", "B")
    page.select_option("#id_requirements-1-event_type", COURSE_PASSING_STATUS_UPDATED)
    page.fill("#id_requirements-1-description", "Pass Cloud 201")
    page.check("#id_is_active")
    page.click("input[name=_continue]")
    warning = messages(page)
    assert "group A" in warning and "has no data rule" in warning and "even a failing grade" in warning, warning
    check_page(page, "template-activation-warning")

    for group, description, course in (("A", "Pass Cloud 101", CLOUD_101), ("B", "Pass Cloud 201", CLOUD_201)):
        page.goto(template_url)
        page.locator("#requirements-group tr", has_text=description).locator("a.inlinechangelink").click()
        assert page.input_value("#id_group") == group
        add_rules(page, [("course.course_key", "=", course), ("is_passing", "=", "true")])
        if group == "A":
            check_page(page, "requirement-rules")
        page.click("input[name=_save]")
        assert page.url == template_url, "saving a requirement should return to its template"
        assert "no data rule" not in messages(page) or group == "A"

    # A penalty: failing Cloud 101 takes group A back.
    page.click("#penalties-group .add-row a")
    page.select_option("#id_penalties-0-event_type", COURSE_PASSING_STATUS_UPDATED)
    page.fill("#id_penalties-0-description", "Failing Cloud 101 takes group A back")
    labels = page.locator("#id_penalties-0-requirements option").all_inner_texts()
    assert labels == ["group A: Pass Cloud 101", "group B: Pass Cloud 201"], labels
    page.select_option("#id_penalties-0-requirements", label="group A: Pass Cloud 101")
    page.click("input[name=_continue]")
    assert "Penalty" in messages(page) and "impossible to earn" in messages(page)
    page.locator("#penalties-group tr", has_text="Failing Cloud 101").locator("a.inlinechangelink").click()
    add_rules(page, [("course.course_key", "=", CLOUD_101), ("is_passing", "=", "false")])
    page.click("input[name=_save]")
    assert page.url == template_url
    assert "no data rule" not in messages(page), messages(page)
    assert page.is_checked("#id_is_active")
    check_page(page, "template-configured", full_page=True)

    # The learner passes Cloud 101: progress, no badge yet.
    assert "handled in-process" in send_events(demo_env, CLOUD_101)
    page.goto(f"{base}/admin/badges/badgeprogress/?q={LEARNER}")
    assert LEARNER in page.inner_text("#result_list")
    check_page(page, "badge-progress")

    # Credly refuses the issue: the badge waits in error, the operator retries it.
    fake.fail_next(100, status=503, path=f"organizations/{ORG_UUID}/badges", method="POST")
    send_events(demo_env, CLOUD_201)
    page.goto(f"{base}/admin/badges/credlybadge/")
    row = page.locator("#result_list tr", has_text=LEARNER)
    assert "HTTP 503" in row.inner_text(), row.inner_text()
    check_page(page, "credly-badges-error")
    assert not [b for b in fake.credly_badges(ORG_UUID) if b["recipient_email"].startswith(LEARNER)]
    fake.clear_failures()
    assert "queued for the provider" in run_action(page, base, "credlybadge", LEARNER, "retry_issuing")
    page.goto(f"{base}/admin/badges/credlybadge/")
    row_text = page.locator("#result_list tr", has_text=LEARNER).inner_text()
    [issued] = [b for b in fake.credly_badges(ORG_UUID) if b["recipient_email"].startswith(LEARNER)]
    assert issued["id"] in row_text and "HTTP 503" not in row_text, row_text
    check_page(page, "credly-badges-issued")
    page.goto(f"{base}/admin/badges/accrediblebadge/")
    check_page(page, "accredible-badges")
    # Credly says a template changed: the webhook events list names it and says what was done.
    fake.update_credly_template(ORG_UUID, security["id"], description="Now with a lab.")
    fake.add_credly_event(ORG_UUID, event_type="badge_template.changed", badge_template_id=security["id"],
                          deliver_to=f"{base}/badges/credly/webhook/")
    page.goto(f"{base}/admin/badges/credlywebhookevent/")
    assert "Template 'Security Basics'" in page.inner_text("#result_list td.field-notes")
    check_page(page, "credly-webhook-events")

    # Deactivation, as the documentation describes it: uncheck Is active, Save.
    page.goto(template_url)
    page.uncheck("#id_is_active")
    page.click("input[name=_save]")
    assert "is inactive" in messages(page)
    assert "Cloud Operations" in page.inner_text("#result_list")
    check_page(page, "template-deactivated")
