#!/usr/bin/env python3
"""Opens an HTML report in headless Chromium (through chromedriver's WebDriver API, with the
standard library only) and checks what a reader would meet: no console errors, no network
requests, every plot rendered, the reasons there, and the row table searching, sorting and
paging. Saves a screenshot as a test artifact.

usage: check_report.py REPORT.html SCREENSHOT.png EXPECTED_REASON
"""
import base64
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
        print("FAIL:", message)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Browser:
    def __init__(self, profile):
        self.port = free_port()
        self.driver = subprocess.Popen(["chromedriver", f"--port={self.port}"],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                self.call("GET", "/status")
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        capabilities = {"browserName": "chrome",
                        "goog:chromeOptions": {
                            "binary": os.environ.get("CHROMIUM", "/usr/bin/chromium"),
                            "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                                     "--disable-dev-shm-usage", "--window-size=1200,1000",
                                     f"--user-data-dir={profile}"]},
                        "goog:loggingPrefs": {"browser": "ALL", "performance": "ALL"}}
        reply = self.call("POST", "/session", {"capabilities": {"alwaysMatch": capabilities}})
        self.session = "/session/" + reply["sessionId"]

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data,
                                         method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=120) as reply:
            return json.loads(reply.read())["value"]

    def run(self, script, *args):
        return self.call("POST", self.session + "/execute/sync",
                         {"script": script, "args": list(args)})

    def logs(self, kind):
        return self.call("POST", self.session + "/se/log", {"type": kind})

    def close(self):
        try:
            self.call("DELETE", self.session)
        finally:
            self.driver.terminate()
            self.driver.wait(timeout=30)


def main():
    report, screenshot, expected_reason = sys.argv[1:4]
    report = os.path.abspath(report)
    with open(report, encoding="utf-8") as f:
        text = f.read()
    # What the page should show, from the rows the report carries.
    start = text.index('<script type="application/json" id="row-data">') + len(
        '<script type="application/json" id="row-data">')
    rows = json.loads(text[start:text.index("</script>", start)])
    with tempfile.TemporaryDirectory() as profile:
        browser = Browser(profile)
        try:
            inspect(browser, report, rows, expected_reason, screenshot)
        finally:
            browser.close()
    if failures:
        print(f"{len(failures)} failure(s)")
        return 1
    print(f"report checked in Chromium: {len(rows)} rows, screenshot {screenshot}")
    return 0


def inspect(browser, report, rows, expected_reason, screenshot):
    url = "file://" + report
    # The browser's own start page fetches chrome:// resources: leave it for a blank page and
    # drain the logs before the report is opened, so that only the report's requests remain.
    browser.call("POST", browser.session + "/url", {"url": "about:blank"})
    time.sleep(0.5)
    browser.logs("browser")
    browser.logs("performance")
    browser.call("POST", browser.session + "/url", {"url": url})
    browser.run("return document.readyState")

    # The table: the first page of 50 rows, every row counted.
    check(browser.run("return document.querySelectorAll('#row-table tbody tr').length")
          == min(50, len(rows)), "the row table's first page does not hold 50 rows")
    check(browser.run("return document.getElementById('row-count').textContent")
          == f"{len(rows)} of {len(rows)} rows", "the row count is wrong")
    # Search: typing filters the rows to those whose number or reason holds the text.
    word = expected_reason.split()[-1]
    expected = sum(1 for r in rows if word.lower() in (str(r[0]) + " " + r[3]).lower())
    browser.run("var s=document.getElementById('search');s.value=arguments[0];"
                "s.dispatchEvent(new Event('input'));", word)
    check(browser.run("return document.getElementById('row-count').textContent")
          == f"{expected} of {len(rows)} rows", f"searching \"{word}\" does not give {expected} rows")
    browser.run("var s=document.getElementById('search');s.value='';"
                "s.dispatchEvent(new Event('input'));")
    # Sorting: two clicks on the prediction header put the largest prediction first.
    browser.run("var h=document.querySelector('#row-table th[data-column=\"1\"]');h.click();h.click();")
    largest = max(rows, key=lambda r: (r[1], -r[0]))
    first_cell = browser.run("return document.querySelector('#row-table tbody tr td').textContent")
    check(first_cell == str(largest[0]),
          f"sorted by prediction, the first row is {first_cell}, not {largest[0]}")
    # Pages: the next page starts at the 51st row.
    if len(rows) > 50:
        browser.run("document.querySelector('#row-pager button:nth-of-type(2)').click();")
        check(browser.run("return document.querySelectorAll('#row-table tbody tr').length")
              == min(50, len(rows) - 50), "the second page of the table is wrong")

    # Row details: following a row's link shows its section, on its page.
    sections = [r[0] for r in rows if r[4]]
    target = sections[min(len(sections) - 1, 23)]
    browser.run("location.hash='#row-'+arguments[0];", target)
    time.sleep(0.3)
    check(browser.run("return !document.getElementById('row-'+arguments[0]).hidden", target),
          f"the section of row {target} is not shown after following its link")
    check(browser.run("return document.querySelectorAll('article.row-section:not([hidden])').length")
          <= 10, "more than one page of row sections is shown")

    # Every plot drawn: with every section shown, each SVG has a size and shapes in it.
    browser.run("document.querySelectorAll('article.row-section').forEach(function(s){s.hidden=false;});")
    plots = browser.run(
        "return Array.prototype.map.call(document.querySelectorAll('figure.plot svg'),function(s){"
        "var b=s.getBoundingClientRect();return [b.width,b.height,"
        "s.querySelectorAll('rect,circle,line,polygon').length,"
        "s.querySelectorAll('text').length];});")
    check(len(plots) >= 2 + 3 * len(sections), f"only {len(plots)} plots in the page")
    blank = [i for i, p in enumerate(plots) if not (p[0] > 100 and p[1] > 50 and p[2] > 3 and p[3] > 1)]
    check(not blank, f"{len(blank)} plots are not rendered (first: plot {blank[:1]})")
    check(browser.run("return document.images.length") == 0 or browser.run(
        "return Array.prototype.every.call(document.images,function(i){return i.complete&&i.naturalWidth>0;})"),
        "an image is not rendered")

    # The reasons, in words.
    reasons = browser.run("return Array.prototype.map.call(document.querySelectorAll('ol.reasons li'),"
                          "function(l){return l.textContent;});")
    check(len(reasons) > 0, "no reasons in the page")
    check(any(expected_reason in r for r in reasons), f"no reason says \"{expected_reason}\"")

    browser.run("window.scrollTo(0,0);document.querySelectorAll('article.row-section').forEach("
                "function(s,i){s.hidden=i>=10;});")
    png = base64.b64decode(browser.call("GET", browser.session + "/screenshot"))
    check(png[:8] == b"\x89PNG\r\n\x1a\n", "the screenshot is not a PNG")
    os.makedirs(os.path.dirname(os.path.abspath(screenshot)), exist_ok=True)
    with open(screenshot, "wb") as f:
        f.write(png)

    # Nothing went wrong on the console, and nothing was fetched but the file itself.
    errors = [e for e in browser.logs("browser") if e.get("level") == "SEVERE"]
    check(not errors, f"console errors: {errors[:3]}")
    requests = []
    for entry in browser.logs("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            requests.append(message["params"]["request"]["url"])
    others = [u for u in requests if u.split("#")[0] != url and not u.startswith("data:")]
    check(not others, f"network requests: {others[:5]}")
    check(any(u.split("#")[0] == url for u in requests), "the performance log saw no request at all")


if __name__ == "__main__":
    sys.exit(main())
