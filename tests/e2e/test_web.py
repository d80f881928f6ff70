"""The records page (issue 11) in headless Chromium against a real `canon serve
--http`: sign in with the API key, add a CNAME and see it in the table and in
a DNS answer, try a TXT at that name and see the rule's error next to the
field, follow a chain, see the preview of a delete, the findings and the
history; a wrong key; where the key is kept; the phone-width layout; no
request outside the page's origin.

Screenshots go to $CANON_TEST_OUTPUT/web, by default test-output/web in the
source tree (git-ignored). One canon and one browser serve the whole module,
and the tests run in file order: each starts from what the one before left.

Run alone: CANON_BIN=$PWD/build/canon CANON_SOURCE_DIR=$PWD \\
    /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/e2e/test_web.py
"""
import json
import os
import shutil
import tempfile
import time
import urllib.error
import urllib.request

import dns.rdatatype
import pytest

import conftest
from secondaries import b64secret, start_canon_primary

try:
    from selenium import webdriver
    from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select, WebDriverWait
except ImportError:  # pragma: no cover
    webdriver = None

ORIGIN = "example.com."
API_KEY = "web-test-key-0f3a9c"
TSIG = ("web-update", "hmac-sha256", b64secret("web"))
WEB_ROOT = os.path.join(conftest.SOURCE_DIR, "web")
OUT_DIR = os.path.join(os.environ.get("CANON_TEST_OUTPUT", os.path.join(conftest.SOURCE_DIR, "test-output")),
                       "web")
CHROMEDRIVER = "/usr/bin/chromedriver"
WAIT = 10  # seconds any one thing in the page may take

# The seeds' examples: the apex A, a DKIM selector CNAME and an email-tracking
# CNAME that leave the zone, a shop CNAME to www and a store CNAME to shop (a
# chain of two, which the checker warns about); blog is added by the tests.
ZONE = """$ORIGIN example.com.
@                 3600  SOA   ns1 hostmaster 2026010101 7200 3600 1209600 300
@                 3600  NS    ns1
ns1               3600  A     192.0.2.53
@                 3600  A     192.0.2.1
www               3600  A     192.0.2.1
shop              3600  CNAME www
store             3600  CNAME shop
@                 3600  MX    10 mail
mail              3600  A     192.0.2.25
@                 3600  TXT   "v=spf1 mx -all"
rwmt1._domainkey  3600  CNAME rwmt1.dkim.smtp.mailtrap.live.
email             3600  CNAME email.secureserver.net.
"""

CHROME_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
    "--no-first-run", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--disable-extensions", "--disable-default-apps",
    # Only loopback: a name that would need DNS resolves to nothing.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--window-size=1280,900",
]


def http_ready(base, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/", timeout=1) as r:
                if r.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    return False


def api(base, method, path, body=None, key=API_KEY):
    req = urllib.request.Request(base + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None)
    req.add_header("X-API-Key", key)
    req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            text = r.read()
            return r.status, json.loads(text) if text else None
    except urllib.error.HTTPError as e:
        text = e.read()
        return e.code, json.loads(text) if text else None


@pytest.fixture(scope="module")
def canon(tmp_path_factory):
    if not os.path.isfile(os.path.join(WEB_ROOT, "index.html")):
        pytest.fail("web/index.html is missing")
    tmp = tmp_path_factory.mktemp("web")
    zonefile = tmp / "example.com.zone"
    zonefile.write_text(ZONE)
    hport = conftest.free_port()
    server = start_canon_primary(
        tmp, {ORIGIN: (str(zonefile), {"update": [TSIG[0]]})}, keys=[TSIG],
        state_dir=tmp / "state",
        extra_args=["--http", f"127.0.0.1:{hport}", "--api-key", API_KEY, "--web-root", WEB_ROOT])
    server.base = f"http://127.0.0.1:{hport}"
    try:
        if not http_ready(server.base):
            raise RuntimeError("canon serve --http did not answer:\n" + server.logtext())
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser():
    if webdriver is None:
        pytest.fail("python3-selenium is not installed: run scripts/deps")
    if not os.path.exists(CHROMEDRIVER):
        pytest.fail("chromium-driver is not installed: run scripts/deps")
    os.makedirs(OUT_DIR, exist_ok=True)
    profile = tempfile.mkdtemp(prefix="canon-chromium-")
    options = webdriver.ChromeOptions()
    for flag in CHROME_FLAGS + ["--user-data-dir=" + profile]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = None
    try:
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        driver.set_page_load_timeout(WAIT)
        driver.set_script_timeout(WAIT)
        yield driver
    finally:
        if driver is not None:
            driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait(driver, cond, what):
    try:
        # The records table is rebuilt when data arrives: an element found just before
        # a re-render goes stale, which means "not yet", not failure.
        return WebDriverWait(driver, WAIT, poll_frequency=0.1,
                             ignored_exceptions=(StaleElementReferenceException,)).until(lambda d: cond(d))
    except TimeoutException:
        shot(driver, "timeout-" + what.replace(" ", "-"))
        raise AssertionError(f"waited {WAIT}s for {what}")


def shot(driver, name):
    path = os.path.join(OUT_DIR, name + ".png")
    driver.save_screenshot(path)
    return path


def by_id(driver, ident):
    return driver.find_element(By.ID, ident)


def row(driver, name, rtype):
    rows = driver.find_elements(By.CSS_SELECTOR, f'#records-body tr[data-name="{name}"][data-type="{rtype}"]')
    return rows[0] if rows else None


def session_key(driver):
    return driver.execute_script("return window.sessionStorage.getItem('canon.apikey')")


def sign_in(driver, base, key):
    driver.get(base + "/")
    field = wait(driver, lambda d: d.find_element(By.ID, "apikey"), "the key field")
    field.clear()
    field.send_keys(key + Keys.ENTER)  # Enter signs in


def signed_in(driver):
    wait(driver, lambda d: row(d, ORIGIN, "SOA") is not None, "the records table")


def fill_record(driver, rtype, name, value, ttl=None):
    by_id(driver, "add-record").click()
    Select(by_id(driver, "rec-type")).select_by_visible_text(rtype)
    by_id(driver, "rec-name").send_keys(name)
    by_id(driver, "rec-value").send_keys(value)
    if ttl is not None:
        by_id(driver, "rec-ttl").clear()
        by_id(driver, "rec-ttl").send_keys(str(ttl))
    by_id(driver, "rec-submit").click()  # Preview


def dns_answer(server, qname, qtype):
    reply = server.query(qname, qtype)
    return reply, {(str(rr.name), rr.rdtype, tuple(sorted(r.to_text() for r in rr))) for rr in reply.answer}


# ---- the tests, in order ----

def test_page_is_plain_files(canon):
    """The page is the files in web/, served as they are, and needs nothing else."""
    for name, ctype in (("/", "text/html"), ("/app.js", "javascript"), ("/style.css", "text/css")):
        with urllib.request.urlopen(canon.base + name, timeout=5) as r:
            assert r.status == 200 and ctype in r.headers.get("Content-Type", "")
    for name in ("index.html", "app.js", "style.css"):
        text = open(os.path.join(WEB_ROOT, name)).read()
        assert "http://" not in text.replace("http://www.w3.org/2000/svg", "") and "https://" not in text, name
        assert "document.cookie" not in text, name


def test_wrong_key_shows_error_and_stores_nothing(canon, browser):
    sign_in(browser, canon.base, "not-the-key")
    err = wait(browser, lambda d: d.find_element(By.ID, "apikey-error").text, "the sign-in error")
    assert "wrong" in err.lower() or "refused" in err.lower()
    assert by_id(browser, "apikey").get_attribute("aria-invalid") == "true"
    assert by_id(browser, "app").get_attribute("hidden") is not None
    assert session_key(browser) is None
    assert browser.execute_script("return window.localStorage.length") == 0
    assert browser.execute_script("return document.cookie") == ""
    assert browser.get_cookies() == []
    shot(browser, "01-wrong-key")


def test_sign_in_keeps_key_in_session_storage_not_cookie(canon, browser):
    sign_in(browser, canon.base, API_KEY)
    signed_in(browser)
    assert session_key(browser) == API_KEY
    assert browser.execute_script("return document.cookie") == ""
    assert browser.get_cookies() == []
    assert browser.execute_script("return window.localStorage.length") == 0
    assert by_id(browser, "apikey").get_attribute("value") == ""
    zones = [a.text for a in browser.find_elements(By.CSS_SELECTOR, "#zone-list a")]
    assert zones == ["example.com"]
    # A reload keeps the session (same tab), and signs in with the stored key.
    browser.refresh()
    signed_in(browser)
    shot(browser, "02-records")


def test_add_cname_shows_in_table_and_dns(canon, browser):
    # blog.example.com CNAME example.com, TTL 32600: the seeds' first example.
    fill_record(browser, "CNAME", "blog", "example.com", ttl=32600)
    hint = by_id(browser, "type-hint").text
    assert "RFC 1034" in hint and "never an IP address" in hint
    wait(browser, lambda d: d.find_element(By.ID, "rec-submit").text == "Save", "the preview")
    preview = by_id(browser, "preview").text
    assert "+ blog 32600 CNAME example.com." in preview
    shot(browser, "03-cname-preview")
    # The preview changed nothing yet.
    _, answer = dns_answer(canon, "blog.example.com.", "A")
    assert answer == set()
    by_id(browser, "rec-submit").click()  # Save
    tr = wait(browser, lambda d: row(d, "blog.example.com.", "CNAME"), "the new row")
    assert "example.com." in tr.text and "32600" in tr.text
    shot(browser, "04-cname-saved")
    reply, answer = dns_answer(canon, "blog.example.com.", "A")
    assert answer == {
        ("blog.example.com.", dns.rdatatype.CNAME, ("example.com.",)),
        ("example.com.", dns.rdatatype.A, ("192.0.2.1",)),
    }
    assert reply.answer[0].ttl == 32600


def test_txt_at_cname_shows_rule_error_next_to_field(canon, browser):
    fill_record(browser, "TXT", "blog", "hello")
    err = wait(browser, lambda d: d.find_element(By.ID, "rec-name-error").text, "the inline error")
    assert "cname-and-other-data" in err and "RFC" in err and "blog.example.com" in err
    assert by_id(browser, "rec-name").get_attribute("aria-invalid") == "true"
    assert "rec-name-error" in by_id(browser, "rec-name").get_attribute("aria-describedby")
    color = by_id(browser, "rec-name-error").value_of_css_property("color")
    r, g, b = [int(x) for x in color[color.index("(") + 1:].split(",")[:3]]
    assert r > 150 and g < 80 and b < 80, color  # red
    shot(browser, "05-txt-inline-error")
    by_id(browser, "rec-cancel").click()
    # Nothing was added: TXT at blog is still the CNAME, then example.com's own TXT.
    _, answer = dns_answer(canon, "blog.example.com.", "TXT")
    assert answer == {("blog.example.com.", dns.rdatatype.CNAME, ("example.com.",)),
                      ("example.com.", dns.rdatatype.TXT, ('"v=spf1 mx -all"',))}


def test_chain_view(canon, browser):
    by_id(browser, "tab-records").click()
    row(browser, "blog.example.com.", "CNAME").find_element(By.XPATH, ".//button[text()='Chain']").click()
    result = wait(browser, lambda d: d.find_element(By.ID, "chain-result").text, "the chain")
    assert "blog.example.com." in result and "example.com." in result
    assert "ANSWER" in result and "1 hop" in result and "effective TTL 3600" in result
    assert "192.0.2.1" in result
    shot(browser, "06-chain-blog")
    # The DKIM selector's chain leaves the zone.
    name = by_id(browser, "chain-name")
    name.clear()
    name.send_keys("rwmt1._domainkey" + Keys.ENTER)
    wait(browser, lambda d: "rwmt1.dkim.smtp.mailtrap.live." in d.find_element(By.ID, "chain-result").text,
         "the DKIM chain")
    shot(browser, "07-chain-dkim")


def test_delete_shows_preview_before_it_saves(canon, browser):
    by_id(browser, "tab-records").click()
    row(browser, "www.example.com.", "A").find_element(By.XPATH, ".//button[text()='Delete']").click()
    text = wait(browser, lambda d: "Findings this change adds" in d.find_element(By.ID, "delete-preview").text
                and d.find_element(By.ID, "delete-preview").text, "the delete preview")
    assert "\u2212 www 3600 A 192.0.2.1" in text
    assert "shop.example.com." in text and "cname-dangling" in text
    shot(browser, "08-delete-preview")
    by_id(browser, "delete-no").click()
    _, answer = dns_answer(canon, "www.example.com.", "A")
    assert answer == {("www.example.com.", dns.rdatatype.A, ("192.0.2.1",))}


def test_findings(canon, browser):
    by_id(browser, "tab-check").click()
    text = wait(browser, lambda d: "cname-chain" in d.find_element(By.ID, "check-result").text and
                d.find_element(By.ID, "check-result").text, "the findings")
    status, doc = api(canon.base, "GET", "/api/v1/servers/localhost/zones/example.com./check")
    assert status == 200
    assert {f["rule"] for f in doc["findings"]} == {"cname-chain"}
    assert "store.example.com." in text
    assert by_id(browser, "check-count").text == str(len(doc["findings"]))
    shot(browser, "09-findings")


def test_edit_shows_the_finding_it_clears(canon, browser):
    by_id(browser, "tab-records").click()
    row(browser, "store.example.com.", "CNAME").find_element(By.XPATH, ".//button[text()='Edit']").click()
    assert by_id(browser, "rec-name").get_attribute("value") == "store"
    value = by_id(browser, "rec-value")
    assert value.get_attribute("value") == "shop.example.com."
    value.clear()
    value.send_keys("www.example.com")
    by_id(browser, "rec-submit").click()  # Preview
    text = wait(browser, lambda d: "Findings this change clears" in d.find_element(By.ID, "preview").text
                and d.find_element(By.ID, "preview").text, "the edit preview")
    assert "cname-chain" in text
    assert "\u2212 store 3600 CNAME shop.example.com." in text and "+ store 3600 CNAME www.example.com." in text
    shot(browser, "10-edit-preview")
    by_id(browser, "rec-submit").click()  # Save
    wait(browser, lambda d: "www.example.com." in (row(d, "store.example.com.", "CNAME").text
                                                  if row(d, "store.example.com.", "CNAME") else ""),
         "the edited row")
    assert by_id(browser, "check-count").text == ""
    _, answer = dns_answer(canon, "store.example.com.", "A")
    assert answer == {("store.example.com.", dns.rdatatype.CNAME, ("www.example.com.",)),
                      ("www.example.com.", dns.rdatatype.A, ("192.0.2.1",))}


def test_history(canon, browser):
    by_id(browser, "tab-history").click()
    text = wait(browser, lambda d: "store.example.com." in d.find_element(By.ID, "history-list").text and
                d.find_element(By.ID, "history-list").text, "the history")
    # Newest first: the edit, then the CNAME the page added; who made them.
    assert text.index("store.example.com.") < text.index("blog.example.com. 32600 CNAME example.com.")
    assert "api" in text
    shot(browser, "11-history")


def no_horizontal_scroll(driver):
    return driver.execute_script(
        "const e = document.documentElement;"
        "return [e.scrollWidth, e.clientWidth, document.body.scrollWidth];")


def test_phone_width_has_no_horizontal_scroll(canon, browser):
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                            {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True})
    try:
        browser.get(canon.base + "/")
        signed_in(browser)
        assert browser.execute_script("return window.innerWidth") == 390
        for name, action in (
            ("12-phone-records", lambda: None),
            ("13-phone-form", lambda: (by_id(browser, "add-record").click(),
                                       Select(by_id(browser, "rec-type")).select_by_visible_text("CNAME"))),
            ("14-phone-chain", lambda: (by_id(browser, "tab-chain").click(),
                                        by_id(browser, "chain-name").send_keys("blog" + Keys.ENTER),
                                        wait(browser, lambda d: d.find_element(By.ID, "chain-result").text,
                                             "the chain"))),
            ("15-phone-findings", lambda: by_id(browser, "tab-check").click()),
            ("16-phone-history", lambda: (by_id(browser, "tab-history").click(),
                                          wait(browser, lambda d: d.find_element(By.ID, "history-list").text,
                                               "the history"))),
        ):
            action()
            browser.execute_script("window.scrollTo(0, 0)")
            scroll, client, body = no_horizontal_scroll(browser)
            shot(browser, name)
            assert scroll <= client and body <= client, (name, scroll, client, body)
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_no_request_leaves_the_origin(canon, browser):
    browser.get_log("performance")  # drop what came before
    browser.get(canon.base + "/")
    signed_in(browser)
    by_id(browser, "tab-check").click()
    wait(browser, lambda d: d.find_element(By.ID, "check-result").text, "the findings")
    entries = browser.execute_script(
        "return performance.getEntriesByType('navigation').concat("
        "performance.getEntriesByType('resource')).map(e => e.name)")
    assert entries and all(e.startswith(canon.base + "/") for e in entries), entries
    # What Chromium asked the network for, favicon and failed requests included.
    urls = []
    for entry in browser.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg.get("method") == "Network.requestWillBeSent":
            urls.append(msg["params"]["request"]["url"])
    assert urls, "no request seen in the performance log"
    outside = [u for u in urls if not (u.startswith(canon.base + "/") or u.startswith("data:"))]
    assert outside == []
    assert any("/api/v1/servers/localhost/zones" in u for u in urls)


def test_sign_out_forgets_the_key(canon, browser):
    by_id(browser, "signout").click()
    wait(browser, lambda d: d.find_element(By.ID, "signin").is_displayed(), "the sign-in form")
    assert session_key(browser) is None
    browser.refresh()
    wait(browser, lambda d: d.find_element(By.ID, "apikey").is_displayed(), "the sign-in form")
    assert by_id(browser, "app").get_attribute("hidden") is not None
    errors = [e for e in browser.get_log("browser")
              if e["level"] == "SEVERE" and "status of 4" not in e["message"]]
    assert errors == []
