"""Accessibility of the console in a real Chromium: axe-core finds no `wcag2a`/`wcag2aa`
violation on any page, no page scrolls sideways at 375 px, and a staff member signs in, queues
a resync and reads its outcome with the keyboard alone (a skip link, a visible focus ring).

axe-core comes bundled in axe-playwright-python (no CDN). One browser, one server and one
daemon for the module, one signed-in browser context per role.

PAGES is the list every page is checked from. To check a new page, append one entry:
``("audit", "staff", "/-/audit")`` (a name for the screenshot and the test id, who opens it:
"visitor", "analyst" or "staff", and the path; ``{request_id}`` is replaced by a queued request).
Each page checked is also a screenshot, `pages/NAME.png` in the screenshot directory (`make
screenshots`: docs/screenshots/pages/), so the manuals can show every page.
"""

from __future__ import annotations

import re

import pytest

from archivesync.db.schema import open_db
from archivesync.demo import ROUNDTABLE
from archivesync.sync import requests as queue
from archivesync.sync.run import Target

from .browser import VIEWPORT, login, shot, skip_without_chromium
from .helpers import SAMPLE_CHANNEL

skip_without_chromium()

axe_module = pytest.importorskip("axe_playwright_python.sync_playwright")

LECTURE = "Ns9wE3hTq6b"
NARROW = {"width": 375, "height": 812}
AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa"]},
    "resultTypes": ["violations"],
}

PAGES = [
    ("overview-visitor", "visitor", "/"),
    ("overview-staff", "staff", "/"),
    ("login", "visitor", "/-/login"),
    ("resync", "staff", "/-/resync"),
    ("request", "staff", "/-/requests/{request_id}"),
    ("requests", "staff", "/-/requests"),
    ("search-form", "visitor", "/-/search"),
    ("search-hits", "analyst", "/-/search?q=オープンデータ"),
    ("search-no-hits", "visitor", "/-/search?q=ぴよぴよ存在しない"),
    ("video", "visitor", f"/-/video/{LECTURE}"),
    ("video-analytics", "analyst", f"/-/video/{ROUNDTABLE}"),
    ("channel", "visitor", f"/-/channel/{SAMPLE_CHANNEL}"),
    ("not-found", "visitor", "/-/video/notAVideo00"),
    ("forbidden", "analyst", "/-/resync"),
    ("audit", "staff", "/-/audit"),
    ("audit-filtered", "staff", "/-/audit?action=login"),
    ("users", "staff", "/-/users?done=added&name=suzuki"),
    ("user", "staff", "/-/users/suzuki"),
    ("password", "analyst", "/-/password"),
    ("login-signed-out", "visitor", "/-/login?ended=idle"),
]


@pytest.fixture(scope="module")
def request_id(site):
    db = open_db(site["db"], migrate=False)
    try:
        return queue.enqueue(db, Target("videos", [LECTURE]), site["staff"][0])
    finally:
        db.close()


@pytest.fixture(scope="module")
def contexts(browser, site):
    """A browser context per role, signed in once."""
    made = {}
    for who in ("visitor", "analyst", "staff"):
        context = browser.new_context(viewport=VIEWPORT, locale="ja-JP", timezone_id="Asia/Tokyo")
        context.route(re.compile(r"^https?://(?!127\.0\.0\.1)"), lambda route: route.abort())
        if who != "visitor":
            pg = context.new_page()
            login(pg, site, *site[who])
            pg.wait_for_url(site["url"] + "/")
            pg.close()
        made[who] = context
    yield made
    for context in made.values():
        context.close()


def _axe_report(results) -> str:
    return "\n".join(
        f"{v['id']}: {v['help']} -> {[n['target'] for n in v['nodes']][:5]}"
        for v in results.response["violations"]
    )


def _too_wide(pg) -> list[str]:
    """Elements sticking out past the right edge of the window."""
    return pg.evaluate(
        """() => [...document.querySelectorAll('body *')]
             .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
             .filter(e => !e.closest('.table-wrap, ol.transcript'))
             .slice(0, 8)
             .map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : '') +
                  ' ' + Math.round(e.getBoundingClientRect().right) + 'px')"""
    )


@pytest.mark.parametrize("name, who, path", PAGES, ids=[p[0] for p in PAGES])
def test_page_has_no_axe_violation_and_fits_375px(
    contexts, site, request_id, shots, name, who, path
):
    pg = contexts[who].new_page()
    pg.set_default_timeout(10_000)
    try:
        response = pg.goto(site["url"] + path.format(request_id=request_id))
        # The page itself, not a login page or an error in its place (unless it is one).
        assert response.ok is (name not in ("not-found", "forbidden")), (name, response.status)
        assert ("/-/login" in pg.url) is name.startswith("login"), (name, pg.url)
        assert pg.get_attribute("html", "lang") == "ja"
        results = axe_module.Axe().run(pg, options=AXE_OPTIONS)
        assert results.violations_count == 0, f"{name}:\n{_axe_report(results)}"
        (shots / "pages").mkdir(exist_ok=True)
        shot(pg, shots, f"pages/{name}")
        pg.set_viewport_size(NARROW)
        wide = pg.evaluate("document.documentElement.scrollWidth")
        assert wide <= NARROW["width"], f"{name} is {wide}px wide at 375px: {_too_wide(pg)}"
    finally:
        pg.close()


FOCUS_RING = """() => {
  const e = document.activeElement, s = getComputedStyle(e);
  return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2;
}"""


def _tab_to(pg, selector: str, most: int = 40) -> None:
    """Press Tab until `selector` has the focus; every stop on the way shows a focus ring."""
    for _ in range(most):
        pg.keyboard.press("Tab")
        where = pg.evaluate("document.activeElement.outerHTML.slice(0, 80)")
        assert pg.evaluate(FOCUS_RING), f"no visible focus ring on {where}"
        if pg.evaluate("s => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} not reached with {most} presses of Tab")


def test_keyboard_only_staff_sign_in_queue_a_resync_and_read_the_outcome(browser, site):
    context = browser.new_context(viewport=VIEWPORT, locale="ja-JP", timezone_id="Asia/Tokyo")
    pg = context.new_page()
    pg.set_default_timeout(10_000)
    try:
        pg.goto(site["url"] + "/")
        # The first Tab reaches the skip link, shown on screen while it has the focus.
        pg.keyboard.press("Tab")
        assert pg.evaluate("document.activeElement.textContent") == "本文へ移動"
        box = pg.evaluate(
            "JSON.parse(JSON.stringify(document.activeElement.getBoundingClientRect()))"
        )
        assert box["top"] >= 0 and box["height"] > 10 and pg.evaluate(FOCUS_RING)
        pg.keyboard.press("Enter")
        assert pg.evaluate("document.activeElement.id") == "main"
        pg.goto(site["url"] + "/")
        _tab_to(pg, "a[href^='/-/login']")
        pg.keyboard.press("Enter")
        pg.wait_for_url(re.compile(r"/-/login"))
        # The user name field has the focus; the password is one Tab away; Enter signs in.
        # A wrong password first: the message is an alert, and that page passes axe too.
        assert pg.evaluate("document.activeElement.name") == "username"
        pg.keyboard.type(site["staff"][0])
        pg.keyboard.press("Tab")
        pg.keyboard.type("not-the-password")
        pg.keyboard.press("Enter")
        pg.wait_for_selector("[role=alert]")
        results = axe_module.Axe().run(pg, options=AXE_OPTIONS)
        assert results.violations_count == 0, f"login error:\n{_axe_report(results)}"
        # The name is kept and the focus waits in the password field.
        assert pg.input_value("input[name=username]") == site["staff"][0]
        assert pg.evaluate("document.activeElement.name") == "password"
        pg.keyboard.type(site["staff"][1])
        pg.keyboard.press("Enter")
        pg.wait_for_url(site["url"] + "/")
        _tab_to(pg, "a[href='/-/resync']")
        pg.keyboard.press("Enter")
        pg.wait_for_url(re.compile(r"/-/resync$"))
        _tab_to(pg, "textarea[name=videos]")
        pg.keyboard.type("https://youtu.be/kD7mQx2LrVw")
        _tab_to(pg, "form[action='/-/resync'] button[type=submit]")
        pg.keyboard.press("Enter")
        pg.wait_for_url(re.compile(r"/-/requests/\d+$"))
        # The outcome arrives in a live region (read out when it changes) without a reload.
        assert pg.get_attribute("#request", "aria-live") == "polite"
        pg.wait_for_selector("#outcome[data-outcome=ok]", timeout=30_000)
        assert pg.inner_text("#outcome") == "成功"
    finally:
        context.close()
