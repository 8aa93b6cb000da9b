#!/usr/bin/env python3
"""The officer's page (GET /) in headless Chromium, through chromedriver: a token given (an
applicant's, the strictest role), the models loaded, an applicant filled in, a decision
explained end to end; the waterfall the server drew is rendered, the reasons are there, no
sensitive feature is named, nothing went wrong on the console and nothing was fetched from
anywhere but the service. Saves a screenshot as a test artifact.

usage: check_page.py PORT TOKEN APPLICANT.json SCREENSHOT.png"""
import base64
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "report"))
from check_report import Browser, check, failures  # noqa: E402


def wait_for(browser, script, what, seconds=30):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if browser.run(script):
            return True
        time.sleep(0.1)
    shown = browser.run("return document.getElementById('error').textContent")
    check(False, f"timed out waiting for {what} (the page says: {shown})")
    return False


def main():
    port, token, applicant_path, screenshot = sys.argv[1:5]
    applicant = json.load(open(applicant_path))
    origin = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as profile:
        browser = Browser(profile)
        try:
            browser.call("POST", browser.session + "/url", {"url": "about:blank"})
            time.sleep(0.5)
            browser.logs("browser")
            browser.logs("performance")
            browser.call("POST", browser.session + "/url", {"url": origin + "/"})
            browser.run("document.getElementById('token').value = arguments[0];"
                        "document.getElementById('connect').click();", token)
            wait_for(browser, "return document.querySelectorAll('#fields input').length > 0",
                     "the model's fields")
            check(browser.run("return document.querySelectorAll('#fields input').length")
                  == len(applicant), "a field per feature")
            browser.run("for (const [name, value] of Object.entries(arguments[0]))"
                        "  document.querySelector('#fields input[name=\"' + name + '\"]').value = value;"
                        "document.getElementById('explain').click();", applicant)
            wait_for(browser, "return document.querySelector('#waterfall svg') !== null", "the waterfall")
            decision = browser.run("return document.getElementById('decision').textContent")
            check(decision.startswith("Prediction") and "adverse" in decision, f"the decision: {decision}")
            size = browser.run("const b = document.querySelector('#waterfall svg')"
                               ".getBoundingClientRect(); return [b.width, b.height, "
                               "document.querySelectorAll('#waterfall svg rect').length];")
            check(size[0] > 200 and size[1] > 100 and size[2] > 3, f"the waterfall is not drawn: {size}")
            reasons = browser.run("return Array.from(document.querySelectorAll('#reasons li'),"
                                  "l => l.textContent);")
            check(len(reasons) > 0, "no reasons shown")
            # An applicant's page names no sensitive feature, in the drawing or the reasons.
            shown = browser.run("return document.querySelector('#waterfall svg').textContent + "
                                "document.getElementById('reasons').textContent")
            for sensitive in ("Age", "Foreign worker", "Sex and marital status", "Protected"):
                check(sensitive not in shown, f"the applicant is shown \"{sensitive}\"")
            png = base64.b64decode(browser.call("GET", browser.session + "/screenshot"))
            check(png[:8] == b"\x89PNG\r\n\x1a\n", "the screenshot is not a PNG")
            os.makedirs(os.path.dirname(os.path.abspath(screenshot)), exist_ok=True)
            with open(screenshot, "wb") as f:
                f.write(png)
            errors = [e for e in browser.logs("browser") if e.get("level") == "SEVERE"]
            check(not errors, f"console errors: {errors[:3]}")
            requests = []
            for entry in browser.logs("performance"):
                message = json.loads(entry["message"])["message"]
                if message.get("method") == "Network.requestWillBeSent":
                    requests.append(message["params"]["request"]["url"])
            others = [u for u in requests if not u.startswith(origin)]
            check(not others, f"requests elsewhere: {others[:5]}")
            check(any(u.endswith(":waterfall") for u in requests), "the waterfall was not asked for")
        finally:
            browser.close()
    if failures:
        print(f"{len(failures)} failure(s)")
        return 1
    print(f"the officer's page checked in Chromium: {len(reasons)} reasons, screenshot {screenshot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
