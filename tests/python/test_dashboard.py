"""The web dashboard in a real headless Chromium (Debian's `chromium`, driven by Playwright): each flow clicks
through the pages a person would use and checks the result both on the page and through the public API.

A screenshot of each flow's end state goes to `target/browser-artifacts/` (the CI keeps that folder).

Chromium comes from `CHROMIUM_BIN` (default `/usr/bin/chromium`); `.ci/run` installs it from Debian's packages.
"""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

import httpx
import openai
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from conftest import ALICE_KEY, REPO_ROOT, Gateway

CHROMIUM = os.environ.get("CHROMIUM_BIN", "/usr/bin/chromium")
ARTIFACTS = REPO_ROOT / "target" / "browser-artifacts"
TIMEOUT_MS = 10_000


@pytest.fixture(scope="module")
def browser() -> Browser:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"Chromium not found at {CHROMIUM}: install Debian's `chromium` package or set CHROMIUM_BIN")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield b
        b.close()


@pytest.fixture()
def page(browser: Browser, request: pytest.FixtureRequest) -> Page:
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


def new_user(gateway: Gateway, balance: int = 5_000_000, role: str = "user") -> tuple[str, str, int]:
    name = f"u{uuid.uuid4().hex[:10]}"
    password = "correct horse battery"
    with gateway.admin() as admin:
        resp = admin.post("/users", json={"name": name, "password": password, "balance": balance, "role": role})
        assert resp.status_code == 201, resp.text
        return name, password, resp.json()["id"]


def log_in(page: Page, gateway: Gateway, name: str, password: str) -> None:
    page.goto(gateway.base_url + "/")
    page.get_by_test_id("login-username").fill(name)
    page.get_by_test_id("login-password").fill(password)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("logout")).to_be_visible()


def log_in_admin(page: Page, gateway: Gateway) -> None:
    """Signs in on the dashboard with the operator's admin token."""
    page.goto(gateway.base_url + "/")
    page.get_by_test_id("login-mode-admin").click()
    page.get_by_test_id("login-admin-token").fill(gateway.admin_token)
    page.get_by_test_id("login-admin-submit").click()
    expect(page.get_by_test_id("logout")).to_be_visible()


def new_group(gateway: Gateway) -> str:
    """A fresh user group (multiplier 1x) created through the admin API; its name."""
    name = f"g{uuid.uuid4().hex[:8]}"
    with gateway.admin() as admin:
        resp = admin.post("/groups", json={"name": name, "multiplier": 1000})
        assert resp.status_code == 201, resp.text
    return name


def admin_user(gateway: Gateway, name: str) -> dict | None:
    """The user named `name` as `GET /api/admin/users` lists it (None when it is not listed)."""
    with gateway.admin() as admin:
        resp = admin.get("/users", params={"limit": 1000})
    assert resp.status_code == 200, f"GET /api/admin/users: {resp.status_code} {resp.text[:300]}"
    found = [u for u in resp.json()["data"] if u["name"] == name]
    assert len(found) <= 1, found
    return found[0] if found else None


def expect_no_error_toast(page: Page) -> None:
    """The last toast (if any) is not an error."""
    toast = page.get_by_test_id("toast")
    if toast.count():
        expect(toast).not_to_have_attribute("data-kind", "error")


def usage_bars(page: Page) -> list[float]:
    bars = page.get_by_test_id("usage-bar")
    return [float(bars.nth(i).get_attribute("data-value") or 0) for i in range(bars.count())]


def test_user_logs_in_creates_a_key_uses_it_and_sees_the_log_and_usage(gateway: Gateway, page: Page) -> None:
    name, password, user_id = new_user(gateway)
    page.goto(gateway.base_url + "/")
    # A wrong password is answered on the page.
    page.get_by_test_id("login-username").fill(name)
    page.get_by_test_id("login-password").fill("not the password")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("login-error")).to_be_visible()
    log_in(page, gateway, name, password)
    expect(page.get_by_test_id("balance")).to_have_attribute("data-value", "5000000")

    # Usage before any request: no bars (or all zero).
    page.get_by_test_id("nav-usage").click()
    expect(page.get_by_test_id("usage-chart")).to_be_visible()
    assert sum(usage_bars(page)) == 0

    # Create a key; its secret is shown once.
    page.get_by_test_id("nav-keys").click()
    page.get_by_test_id("key-create-open").click()
    page.get_by_test_id("key-name").fill("laptop")
    page.get_by_test_id("key-create-submit").click()
    secret_el = page.get_by_test_id("key-secret")
    expect(secret_el).to_have_text(re.compile(r"^sk-[0-9A-Za-z]{48}$"))
    secret = secret_el.text_content().strip()

    # Use it with the official SDK, like the user's own program would.
    client = openai.OpenAI(base_url=f"{gateway.base_url}/v1", api_key=secret, max_retries=0, timeout=20.0)
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o", messages=[{"role": "user", "content": "hello from the dashboard test"}]
    )
    request_id = raw.headers["x-request-id"]
    assert raw.parse().choices[0].message.content

    # The request shows in the user's log (rows are written just after the answer: the page is reloaded until
    # it appears).
    page.get_by_test_id("nav-logs").click()
    row = page.locator(f'[data-testid="log-row"][data-request-id="{request_id}"]')
    for _ in range(20):
        if row.count():
            break
        page.wait_for_timeout(250)
        page.get_by_test_id("logs-apply").click()
    expect(row).to_be_visible()
    expect(row).to_contain_text("gpt-4o")

    # And in the usage chart.
    page.get_by_test_id("nav-usage").click()
    expect(page.get_by_test_id("usage-bar").first).to_be_visible()
    assert sum(usage_bars(page)) >= 1
    expect(page.get_by_test_id("usage-total-requests")).to_have_attribute("data-value", "1")

    # The balance went down by exactly the logged cost.
    with gateway.admin() as admin:
        logged = admin.get("/logs", params={"request_id": request_id}).json()["data"][0]
        user = admin.get(f"/users/{user_id}").json()
    assert logged["cost"] > 0
    assert user["balance"] == 5_000_000 - logged["cost"]
    page.get_by_test_id("nav-overview").click()
    expect(page.get_by_test_id("balance")).to_have_attribute("data-value", str(user["balance"]))


def test_admin_creates_a_channel_and_tests_it(gateway: Gateway, page: Page) -> None:
    page.goto(gateway.base_url + "/")
    page.get_by_test_id("login-mode-admin").click()
    page.get_by_test_id("login-admin-token").fill(gateway.admin_token)
    page.get_by_test_id("login-admin-submit").click()
    expect(page.get_by_test_id("logout")).to_be_visible()

    page.get_by_test_id("nav-admin-channels").click()
    page.get_by_test_id("channel-create-open").click()
    name = f"browser-{uuid.uuid4().hex[:6]}"
    page.get_by_test_id("channel-name").fill(name)
    page.get_by_test_id("channel-kind").select_option("openai")
    page.get_by_test_id("channel-base-url").fill(gateway.rust_url)
    page.get_by_test_id("channel-keys").fill("upstream-secret-rust")
    # The model list comes from the upstream's /v1/models.
    page.get_by_test_id("channel-fetch-models").click()
    expect(page.get_by_test_id("channel-models")).to_have_value(re.compile(r"gpt-4o"))
    page.get_by_test_id("channel-models").fill("gpt-4o")
    page.get_by_test_id("channel-create-submit").click()

    row = page.locator(f'[data-testid="channel-row"][data-channel-name="{name}"]')
    expect(row).to_be_visible()
    row.get_by_test_id("channel-test").click()
    result = row.get_by_test_id("channel-test-result")
    expect(result).to_have_attribute("data-ok", "true")
    assert int(result.get_attribute("data-latency") or "-1") >= 0

    # The channel exists through the API too, with its key masked.
    with gateway.admin() as admin:
        channels = admin.get("/channels").json()["data"]
    created = [c for c in channels if c["name"] == name]
    assert len(created) == 1
    assert "upstream-secret-rust" not in str(created[0])
    assert created[0]["models"] == ["gpt-4o"]


def test_admin_creates_edits_and_disables_a_user(gateway: Gateway, page: Page) -> None:
    """The Users page's New user and Edit forms (issue 16: both threw before opening), the inline top-up and the
    enable/disable switch; every step is checked in the table and through `GET /api/admin/users`."""
    first_group, second_group = new_group(gateway), new_group(gateway)
    name = f"web-{uuid.uuid4().hex[:8]}"
    password = "a password from the form"
    log_in_admin(page, gateway)
    page.get_by_test_id("nav-admin-users").click()
    expect(page.get_by_test_id("users-table")).to_be_visible()

    # New user: name, password, group, role and a starting balance of $12.34.
    page.get_by_test_id("user-create-open").click()
    dialog = page.get_by_test_id("user-form")
    expect(dialog).to_be_visible()
    dialog.get_by_test_id("user-name").fill(name)
    dialog.get_by_test_id("user-password").fill(password)
    dialog.get_by_test_id("user-group").select_option(first_group)
    dialog.get_by_test_id("user-role").select_option("user")
    dialog.get_by_test_id("user-start-balance").fill("12.34")
    dialog.get_by_test_id("user-create-submit").click()
    expect(dialog).to_have_count(0)
    expect(page.get_by_test_id("toast")).to_have_text(f"User “{name}” created")
    row = page.locator(f'[data-testid="user-row"][data-user-name="{name}"]')
    expect(row).to_be_visible()
    expect(row).to_contain_text(first_group)
    expect(row.get_by_test_id("user-balance")).to_have_attribute("data-value", "12340000")
    expect(row.get_by_test_id("user-toggle")).to_have_attribute("data-enabled", "true")

    stored = admin_user(gateway, name)
    assert stored is not None, f"{name} not in GET /api/admin/users"
    assert (stored["group"], stored["balance"], stored["role"], stored["enabled"]) == (
        first_group, 12_340_000, "user", True,
    ), stored
    user_id = stored["id"]
    login = httpx.post(gateway.base_url + "/api/auth/login", json={"username": name, "password": password})
    assert login.status_code == 200, f"the password set in the form does not sign in: {login.text[:300]}"

    # Edit: the form opens filled with the user's values; rename and move to the other group.
    row.get_by_test_id("user-edit").click()
    dialog = page.get_by_test_id("user-form")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_test_id("user-name")).to_have_value(name)
    expect(dialog.get_by_test_id("user-group")).to_have_value(first_group)
    expect(dialog.get_by_test_id("user-enabled")).to_be_checked()
    renamed = name + "-renamed"
    dialog.get_by_test_id("user-name").fill(renamed)
    dialog.get_by_test_id("user-group").select_option(second_group)
    dialog.get_by_test_id("user-save-submit").click()
    expect(dialog).to_have_count(0)
    expect(page.get_by_test_id("toast")).to_have_text(f"User “{renamed}” saved")
    row = page.locator(f'[data-testid="user-row"][data-user-id="{user_id}"]')
    expect(row).to_have_attribute("data-user-name", renamed)
    expect(row).to_contain_text(second_group)

    # Top up $2.50 from the row.
    row.get_by_test_id("user-topup-amount").fill("2.5")
    row.get_by_test_id("user-topup-submit").click()
    expect(row.get_by_test_id("user-balance")).to_have_attribute("data-value", "14840000")

    # Disable with the row's switch.
    row.get_by_test_id("user-toggle").click()
    expect(page.get_by_test_id("toast")).to_have_text(f"User “{renamed}” disabled")
    expect(row.get_by_test_id("user-toggle")).to_have_attribute("data-enabled", "false")
    expect(row).to_contain_text("Disabled")
    expect_no_error_toast(page)

    assert admin_user(gateway, name) is None, "the old name is still listed"
    stored = admin_user(gateway, renamed)
    assert stored is not None, f"{renamed} not in GET /api/admin/users"
    assert (stored["id"], stored["group"], stored["balance"], stored["role"], stored["enabled"]) == (
        user_id, second_group, 14_840_000, "user", False,
    ), stored

    # Enable again through the Edit form's checkbox.
    row.get_by_test_id("user-edit").click()
    dialog = page.get_by_test_id("user-form")
    expect(dialog.get_by_test_id("user-enabled")).not_to_be_checked()
    dialog.get_by_test_id("user-enabled").check()
    dialog.get_by_test_id("user-save-submit").click()
    expect(dialog).to_have_count(0)
    expect(row.get_by_test_id("user-toggle")).to_have_attribute("data-enabled", "true")
    stored = admin_user(gateway, renamed)
    assert stored is not None and stored["enabled"] is True, stored
    assert (stored["group"], stored["balance"]) == (second_group, 14_840_000), stored


def test_admin_generates_codes_and_sees_them_listed(gateway: Gateway, page: Page) -> None:
    """Generating codes on the Codes page shows the batch once and reloads the list with it, without an error
    (issue 16: the reload used to fail and show an error toast and a form error)."""
    log_in_admin(page, gateway)
    page.get_by_test_id("nav-admin-codes").click()
    expect(page.get_by_test_id("codes-table")).to_be_visible()

    page.get_by_test_id("codes-amount").fill("3.75")
    page.get_by_test_id("codes-count").fill("3")
    page.get_by_test_id("codes-create-submit").click()
    created = page.get_by_test_id("codes-created")
    expect(created).to_be_visible()
    new_codes = (created.text_content() or "").split()
    assert len(new_codes) == 3 and len(set(new_codes)) == 3, new_codes

    # The list was reloaded: every new code has its row, unused and worth $3.75.
    for code in new_codes:
        row = page.locator(f'[data-testid="code-row"][data-code="{code}"]')
        expect(row).to_be_visible()
        expect(row.locator('[data-status="unused"]')).to_be_visible()
        expect(row).to_contain_text("3.75")
    expect(page.get_by_test_id("toast")).to_have_text("3 codes generated")
    expect_no_error_toast(page)
    expect(page.get_by_test_id("codes-form-error")).to_be_hidden()
    expect(page.get_by_test_id("codes-create-submit")).to_be_enabled()

    with gateway.admin() as admin:
        resp = admin.get("/codes", params={"status": "unused", "limit": 1000})
    assert resp.status_code == 200, resp.text
    stored = {c["code"]: c for c in resp.json()["data"]}
    for code in new_codes:
        assert code in stored, f"{code} not in GET /api/admin/codes"
        assert stored[code]["amount"] == 3_750_000, stored[code]


def test_user_redeems_a_code(gateway: Gateway, page: Page) -> None:
    name, password, user_id = new_user(gateway, balance=0)
    with gateway.admin() as admin:
        resp = admin.post("/codes", json={"amount": 1_250_000, "count": 1})
        assert resp.status_code == 201, resp.text
        code = resp.json()["data"][0]["code"]
    log_in(page, gateway, name, password)
    page.get_by_test_id("nav-redeem").click()
    page.get_by_test_id("redeem-code").fill(code)
    page.get_by_test_id("redeem-submit").click()
    expect(page.get_by_test_id("redeem-result")).to_contain_text("1.25")
    # Used once: a second try is refused on the page.
    page.get_by_test_id("redeem-code").fill(code)
    page.get_by_test_id("redeem-submit").click()
    expect(page.get_by_test_id("redeem-result")).to_have_attribute("data-kind", "error")
    with gateway.admin() as admin:
        assert admin.get(f"/users/{user_id}").json()["balance"] == 1_250_000


def test_playground_streams_an_answer(gateway: Gateway, page: Page) -> None:
    name, password, _ = new_user(gateway)
    log_in(page, gateway, name, password)
    page.get_by_test_id("nav-playground").click()
    page.get_by_test_id("pg-model").select_option("gpt-4o")
    page.get_by_test_id("pg-input").fill("Say something")
    page.get_by_test_id("pg-send").click()
    expect(page.get_by_test_id("pg-output")).not_to_be_empty()
    expect(page.get_by_test_id("pg-error")).to_be_hidden()


def test_phone_width_and_chinese(gateway: Gateway, browser: Browser) -> None:
    name, password, _ = new_user(gateway)
    context = browser.new_context(locale="zh-CN", viewport={"width": 375, "height": 740})
    context.set_default_timeout(TIMEOUT_MS)
    pg = context.new_page()
    try:
        pg.goto(gateway.base_url + "/")
        expect(pg.get_by_test_id("login-submit")).to_have_text(re.compile(r"[\u4e00-\u9fff]"))
        pg.get_by_test_id("login-username").fill(name)
        pg.get_by_test_id("login-password").fill(password)
        pg.get_by_test_id("login-submit").click()
        # The navigation folds behind a menu button.
        toggle = pg.get_by_test_id("menu-toggle")
        expect(toggle).to_be_visible()
        toggle.click()
        pg.get_by_test_id("nav-keys").click()
        expect(pg.get_by_test_id("key-create-open")).to_be_visible()
        # Nothing is wider than the screen.
        width = pg.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"page is {width}px wide on a 375px screen"
        pg.screenshot(path=str(ARTIFACTS / "test_phone_width_and_chinese.png"), full_page=True)
        # The language button switches the page to English (loaded on demand) and back, and remembers it.
        pg.get_by_test_id("lang-toggle").click()
        expect(pg.get_by_test_id("key-create-open")).to_have_text("New key")
        assert pg.evaluate("document.documentElement.lang") == "en"
        pg.reload()
        expect(pg.get_by_test_id("key-create-open")).to_have_text("New key")
        pg.get_by_test_id("lang-toggle").click()
        expect(pg.get_by_test_id("key-create-open")).to_have_text("新建密钥")
    finally:
        context.close()


def test_dashboard_is_served_with_a_strict_policy(gateway: Gateway) -> None:
    resp = httpx.get(gateway.base_url + "/")
    assert resp.status_code == 200
    assert "default-src 'self'" in resp.headers["content-security-policy"]
    assert "script-src 'self'" in resp.headers["content-security-policy"]
    assert '<script type="module" src="/assets/main.js">' in resp.text
    for asset, kind in (
        ("main.js", "text/javascript"),
        ("pages/channels.js", "text/javascript"),
        ("i18n/zh.js", "text/javascript"),
        ("css/tables.css", "text/css"),
    ):
        r = httpx.get(f"{gateway.base_url}/assets/{asset}")
        assert r.status_code == 200 and len(r.content) > 1000, asset
        assert r.headers["content-type"].startswith(kind), asset
        assert r.headers["x-content-type-options"] == "nosniff"
    assert httpx.get(f"{gateway.base_url}/assets/pages/nope.js").status_code == 404


def test_a_web_chat_page_on_another_origin_calls_the_api(gateway: Gateway, browser: Browser) -> None:
    """What a browser chat client does: a page served from another origin (here another port) calls the API with
    `Authorization` (a CORS preflight), streams the answer and reads `x-request-id`; an error reaches it too."""
    import functools
    import http.server
    import threading

    page_dir = ARTIFACTS / "cors-page"
    page_dir.mkdir(parents=True, exist_ok=True)
    (page_dir / "index.html").write_text("<!doctype html><title>web chat</title><p>chat client</p>")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(page_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    context = browser.new_context()
    try:
        pg = context.new_page()
        pg.goto(f"http://127.0.0.1:{server.server_address[1]}/index.html")
        result = pg.evaluate(
            """async ([base, key]) => {
                const resp = await fetch(base + '/v1/chat/completions', {
                    method: 'POST',
                    headers: {'Authorization': 'Bearer ' + key, 'Content-Type': 'application/json'},
                    body: JSON.stringify({model: 'gpt-4o', stream: true,
                                          messages: [{role: 'user', content: 'hi'}]}),
                });
                const reader = resp.body.getReader();
                const decoder = new TextDecoder();
                let text = '';
                for (;;) {
                    const {done, value} = await reader.read();
                    if (done) break;
                    text += decoder.decode(value, {stream: true});
                }
                const bad = await fetch(base + '/v1/chat/completions', {
                    method: 'POST',
                    headers: {'Authorization': 'Bearer sk-wrong', 'Content-Type': 'application/json'},
                    body: '{}',
                });
                return {status: resp.status, requestId: resp.headers.get('x-request-id'), text,
                        badStatus: bad.status, badBody: await bad.json()};
            }""",
            [gateway.base_url, ALICE_KEY],
        )
    finally:
        context.close()
        server.shutdown()
    assert result["status"] == 200
    assert result["requestId"] and result["requestId"].startswith("req_")
    assert "data: [DONE]" in result["text"]
    assert result["badStatus"] == 401
    assert result["badBody"]["error"]["code"] == "invalid_api_key"


# ---------------------------------------------------------------------------------------------------------------
# Layout: every page, in both languages, on a laptop and on a phone, without sideways scrolling.

# (route, table testid, row testid, action testids checked on the first row, testid of an element that shows
# the page is drawn).
LAYOUT_PAGES = {
    "admin": [
        ("/overview", None, None, (), "admin-channels-count"),
        ("/admin/channels", "channels-table", "channel-row", ("channel-test", "channel-edit", "channel-toggle", "channel-delete", "row-expand"), None),
        ("/admin/users", "users-table", "user-row", ("user-keys", "user-edit", "user-toggle", "user-delete", "user-topup-submit"), None),
        ("/admin/keys", "keys-table", "key-row", ("key-edit", "key-disable|key-enable", "key-delete", "row-expand"), None),
        ("/admin/groups", "groups-table", "group-row", ("group-edit",), None),
        ("/admin/prices", "prices-table", "price-row", ("price-edit", "price-delete"), None),
        ("/admin/codes", "codes-table", "code-row", ("code-copy", "code-delete", "row-expand"), None),
        ("/admin/logs", "logs-table", "log-row", ("row-expand",), None),
        ("/admin/usage", "usage-table", "usage-row", (), None),
        ("/admin/mj", "mj-table", None, (), None),
    ],
    "user": [
        ("/overview", None, None, (), "balance"),
        ("/keys", "keys-table", "key-row", ("key-edit", "key-disable|key-enable", "key-delete", "row-expand"), None),
        ("/playground", None, None, (), "pg-send"),
        ("/logs", "logs-table", "log-row", ("row-expand",), None),
        ("/usage", "usage-table", "usage-row", (), None),
        ("/redeem", None, None, (), "redeem-submit"),
    ],
}
LAYOUT_CASES = [(who, *p) for who, pages in LAYOUT_PAGES.items() for p in pages]
VIEWPORTS = {"1280": {"width": 1280, "height": 900}, "390": {"width": 390, "height": 844}}
LOCALES = {"en": "en-US", "zh": "zh-CN"}


@pytest.fixture(scope="module")
def layout_user(gateway: Gateway) -> tuple[str, str]:
    """A user with a key, one logged request (rows on every self-service page) and one unused code."""
    name, password, user_id = new_user(gateway)
    with gateway.admin() as admin:
        resp = admin.post("/keys", json={"user_id": user_id, "name": "layout laptop key"})
        assert resp.status_code == 201, resp.text
        key_id, secret = resp.json()["id"], resp.json()["key"]
        assert admin.post("/codes", json={"amount": 2_000_000, "count": 1}).status_code == 201
    raw = gateway.client(secret).chat.completions.with_raw_response.create(
        model="gpt-4o", messages=[{"role": "user", "content": "a row for the layout test"}]
    )
    gateway.log_row(key_id, raw.headers["x-request-id"])
    return name, password


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("lang", list(LOCALES))
@pytest.mark.parametrize(
    ("who", "route", "table", "row", "actions", "ready"),
    LAYOUT_CASES,
    ids=[f"{c[0]}:{c[1]}" for c in LAYOUT_CASES],
)
def test_every_page_fits_the_screen(
    gateway: Gateway,
    browser: Browser,
    layout_user: tuple[str, str],
    who: str,
    route: str,
    table: str | None,
    row: str | None,
    actions: tuple[str, ...],
    ready: str | None,
    lang: str,
    viewport: str,
) -> None:
    size = VIEWPORTS[viewport]
    context = browser.new_context(locale=LOCALES[lang], viewport=size)
    context.set_default_timeout(TIMEOUT_MS)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    try:
        pg.goto(gateway.base_url + "/")
        if who == "admin":
            pg.get_by_test_id("login-mode-admin").click()
            pg.get_by_test_id("login-admin-token").fill(gateway.admin_token)
            pg.get_by_test_id("login-admin-submit").click()
        else:
            pg.get_by_test_id("login-username").fill(layout_user[0])
            pg.get_by_test_id("login-password").fill(layout_user[1])
            pg.get_by_test_id("login-submit").click()
        expect(pg.get_by_test_id("logout")).to_be_visible()
        assert pg.evaluate("document.documentElement.lang") == ("zh-CN" if lang == "zh" else "en")
        pg.evaluate("(r) => { location.hash = r; }", "#" + route)
        if ready:
            expect(pg.get_by_test_id(ready)).to_be_visible()
        if table:
            expect(pg.get_by_test_id(table)).to_be_visible()
        if row:
            expect(pg.get_by_test_id(row).first).to_be_visible()
        expect(pg.get_by_test_id("loading")).to_have_count(0)
        if lang == "zh":
            expect(pg.locator("main h1")).to_have_text(re.compile(r"[\u4e00-\u9fff]"))

        width = pg.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1], f"{route} is {width[0]}px wide in a {width[1]}px window"
        if table:
            el = pg.get_by_test_id(table)
            table_w, box_w, wrap_scroll = el.evaluate(
                "t => [t.getBoundingClientRect().width, t.parentElement.clientWidth, t.parentElement.scrollWidth]"
            )
            assert table_w <= box_w + 0.5, f"{table} is {table_w}px wide in a {box_w}px container"
            assert wrap_scroll <= box_w, f"{table}'s container scrolls sideways ({wrap_scroll} > {box_w})"
        if row:
            first = pg.get_by_test_id(row).first
            # "a|b": either (an enabled row shows Disable, a disabled one Enable).
            present = [t for a in actions for t in a.split("|") if first.get_by_test_id(t).count()]
            assert len(present) == len(actions), (route, actions, present)
            targets = [first.get_by_test_id(a) for a in present]
            cell = first.locator("td.actions")
            if cell.count():
                targets += [cell.locator("button, a").nth(i) for i in range(cell.locator("button, a").count())]
            assert targets or not actions
            for target in targets:
                # Scroll the page vertically only: nothing may need a sideways scroll to be reached.
                target.evaluate(
                    "e => window.scrollTo(0, e.getBoundingClientRect().top + window.scrollY - innerHeight / 2)"
                )
                expect(target).to_be_visible()
                expect(target).to_be_in_viewport(ratio=1)
                left, right = target.evaluate("e => [e.getBoundingClientRect().left, e.getBoundingClientRect().right]")
                assert 0 <= left and right <= size["width"], f"{route}: an action spans {left}..{right}px"
            assert pg.evaluate("[...document.querySelectorAll('.table-wrap')].every(w => w.scrollLeft === 0)")
        pg.screenshot(path=str(ARTIFACTS / f"layout-{who}{route.replace('/', '-')}-{lang}-{viewport}.png"), full_page=True)
    finally:
        context.close()
    assert not errors, f"uncaught errors in the page: {errors}"
