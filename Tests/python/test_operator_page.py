"""The README's first command as a new user meets it: `consent-bridge demo` runs everything on
embedded defaults with simulated EPJ and NAV traffic, and its operator page, opened in a real
browser (Debian's chromium, headless, driven by selenium), lists rejections, filters them,
counts them by reason, draws them over time and explains one, and counts the copies each
recipient system received, without showing a person.

The demo's own summary (`--json`, last line) must show forwarded, anonymized and rejected
events; the page is read only through the browser (no API shortcut for what it shows).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

BIN = os.environ.get("CONSENT_BRIDGE_BIN")
ROOT = Path(__file__).resolve().parents[2]
DURATION = 30  # s the demo runs by itself
ELEVEN_DIGITS = re.compile(r"(?<![\d.])\d{11}(?![\d.])")


def is_fodselsnummer(number: str) -> bool:
    """Both mod-11 check digits hold (real, D-, H- and synthetic numbers alike)."""
    digits = [int(c) for c in number]

    def check(weights, count):
        remainder = sum(d * w for d, w in zip(digits[:count], weights)) % 11
        return 0 if remainder == 0 else 11 - remainder

    first = check([3, 7, 6, 1, 8, 9, 4, 5, 2], 9)
    second = check([5, 4, 3, 2, 7, 6, 5, 4, 3, 2], 10)
    return first < 10 and second < 10 and digits[9] == first and digits[10] == second

pytestmark = pytest.mark.skipif(not BIN, reason="CONSENT_BRIDGE_BIN is not set (scripts/test sets it)")


class Demo:
    """`consent-bridge demo --duration N --json` in the background; its stderr is collected."""

    def __init__(self, tmp: Path):
        self.process = subprocess.Popen(
            [BIN, "demo", "--duration", str(DURATION), "--json", "--http-listen-address", "127.0.0.1:0",
             "--contracts", str(ROOT / "Contracts"), "--data-directory", str(tmp / "demo-data"), "--rate", "15"],
            cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.stderr: list[str] = []
        self.url: str | None = None
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.process.stderr:
            self.stderr.append(line)
            match = re.search(r"operator page: (http://\S+)", line)
            if match:
                self.url = match.group(1)

    def wait_for_url(self, timeout=60) -> str:
        deadline = time.time() + timeout
        while self.url is None and time.time() < deadline and self.process.poll() is None:
            time.sleep(0.1)
        assert self.url, "the demo printed no operator page URL:\n" + "".join(self.stderr[-20:])
        return self.url

    def finish(self) -> tuple[int, str]:
        out, _ = self.process.communicate(timeout=DURATION + 90)
        self.reader.join(timeout=5)
        return self.process.returncode, out


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    run = Demo(tmp_path_factory.mktemp("demo"))
    yield run
    if run.process.poll() is None:
        run.process.kill()


@pytest.fixture(scope="module")
def browser():
    chromium = shutil.which("chromium")
    driver_path = shutil.which("chromedriver")
    if not chromium or not driver_path:
        pytest.fail("chromium and chromium-driver are needed (scripts/bootstrap-test.sh installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1400,1000"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    yield driver
    driver.quit()


def wait(condition, timeout=30, interval=0.25, what="condition"):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = condition()
            if last:
                return last
        except Exception as error:  # the page may be mid-refresh
            last = error
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def test_operator_page_lists_filters_counts_and_charts_rejections(demo, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    url = demo.wait_for_url()
    browser.get(url)
    # The token travelled in the fragment and is gone from the address bar.
    wait(lambda: "token=" not in browser.current_url, what="the token to leave the address bar")
    rows = wait(lambda: browser.find_elements(By.CSS_SELECTOR, "#rejections tbody tr") or None, timeout=45,
                what="rejections in the list")
    assert rows, "the page lists no rejections"
    counts = wait(lambda: browser.find_elements(By.CSS_SELECTOR, "#counts tbody tr") or None, what="counts by reason")
    reasons = {row.get_attribute("data-reason"): int(row.find_elements(By.TAG_NAME, "td")[1].text) for row in counts}
    assert sum(reasons.values()) >= len(rows) > 0
    # Deliveries by destination: the three recipient systems, each with copies published (R9).
    def deliveries():
        rows = browser.find_elements(By.CSS_SELECTOR, "#deliveries tbody tr")
        cells = {row.find_elements(By.TAG_NAME, "td")[0].text: [td.text for td in row.find_elements(By.TAG_NAME, "td")]
                 for row in rows}
        published = {system: int(c[2]) + int(c[3]) for system, c in cells.items()}
        return cells if set(cells) == {"health-journal", "nav-case", "nav-followup"} and all(published.values()) else None

    destinations = wait(deliveries, timeout=45, what="published copies for every recipient system")
    assert destinations["nav-followup"][1] == "nav.followup.inbound"
    assert int(destinations["nav-followup"][3]) > 0, "the anonymous case discussions reach the job specialist"
    bars = wait(lambda: browser.find_elements(By.CSS_SELECTOR, "#chart svg rect") or None, what="the chart's bars")
    assert {bar.get_attribute("data-reason") for bar in bars} <= set(reasons)

    # Filter by the commonest reason: every listed row then has it.
    reason = max(reasons, key=reasons.get)
    browser.find_element(By.ID, "auto-refresh").click()  # hold the list still while checking it
    Select(browser.find_element(By.ID, "filter-reason")).select_by_value(reason)
    browser.find_element(By.ID, "apply").click()

    def filtered():
        cells = [row.find_elements(By.TAG_NAME, "td")[5].text for row in browser.find_elements(By.CSS_SELECTOR, "#rejections tbody tr")]
        return cells if cells and set(cells) == {reason} else None

    wait(filtered, what=f"only {reason} rows after filtering")

    # One rejection's detail: its reason in English and in Norwegian.
    browser.find_elements(By.CSS_SELECTOR, "#rejections tbody tr")[0].click()
    wait(lambda: browser.find_element(By.ID, "detail").is_displayed(), what="the detail panel")
    english = wait(lambda: browser.find_element(By.ID, "detail-reason-en").text, what="the English reason")
    norwegian = browser.find_element(By.ID, "detail-reason-nb").text
    assert english and norwegian and english != norwegian

    # Nothing on the page names a person.
    text = browser.find_element(By.TAG_NAME, "body").text + "\n" + browser.page_source
    found = [n for n in ELEVEN_DIGITS.findall(text) if is_fodselsnummer(n)]
    assert not found, f"the operator page shows {len(found)} fødselsnummer-shaped number(s)"


def test_page_refuses_a_wrong_token(demo, browser):
    from selenium.webdriver.common.by import By

    url = demo.wait_for_url()
    base = url.split("#", 1)[0]
    browser.get("about:blank")
    browser.get(base + "#token=not-a-demo-token-000000")
    message = wait(lambda: browser.find_element(By.ID, "login-error").text, what="the login error")
    assert "not accepted" in message
    assert not browser.find_elements(By.CSS_SELECTOR, "#rejections tbody tr")


def test_demo_summary_shows_every_outcome(demo):
    code, out = demo.finish()
    lines = [line for line in out.splitlines() if line.strip()]
    assert code == 0, f"demo exited {code}:\n" + "".join(demo.stderr[-30:])
    assert lines, "demo --json printed nothing on stdout"
    summary = json.loads(lines[-1])
    assert summary["forwarded"] > 0 and summary["anonymized"] > 0 and summary["rejected"] > 0, summary
    assert summary["rejected"] == sum(summary["rejectedByReason"].values())
    # Standard output is the JSON alone; the live lines went to standard error.
    assert len(lines) == 1, lines[:3]
    assert any("operator page:" in line for line in demo.stderr)
