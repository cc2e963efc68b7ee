"""The HTTP half of the smoke test: drive a running releasemgr as a browser would.

    python scripts/smoke_client.py wait  http://127.0.0.1:PORT [--pid PID]  # until /healthz is 200
    python scripts/smoke_client.py drive http://127.0.0.1:PORT --log FILE --mail-dir DIR

Standard library only (urllib, http.cookiejar), so it tests the server and nothing else.
Prints one line per check; exits non-zero at the first one that fails.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import gzip
import http.cookiejar
import json
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from html import unescape
from pathlib import Path

USERNAME, PASSWORD = "manager", "demo"
TRAIN = "2027.01 Winter feature train"  # seeded in scoping, ready to start construction
TIMEOUT = 15  # seconds per request
REMINDER_WAIT = 60  # seconds for beat's scan and the worker's delivery (smoke: every 2 s)
REMINDER_KINDS = (
    "Deadline coming up",
    "Deadline passed",
    "Overdue deadline escalated to approvers",
)
MAIL_SEPARATOR = b"\n" + b"-" * 79 + b"\n"  # between messages in the file mail backend


class SmokeFailure(Exception):
    pass


def check(condition: object, what: str, detail: str = "") -> None:
    if not condition:
        raise SmokeFailure(f"{what}{': ' + detail if detail else ''}")
    print(f"ok - {what}", flush=True)


@dataclass
class Page:
    status: int
    url: str
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    @property
    def path(self) -> str:
        return urllib.parse.urlsplit(self.url).path

    def csrf_token(self, action: str | None = None) -> str:
        """The hidden CSRF field of the form posting to `action` (or the first form)."""
        return self.field("csrfmiddlewaretoken", action)

    def field(self, name: str, action: str | None = None) -> str:
        """The value of the form field `name` in the form posting to `action` (or the first
        form)."""
        html = self.text
        if action is not None:
            start = html.find(f'action="{action}"')
            check(start != -1, f"{self.path} has a form posting to {action}")
            html = html[start : html.find("</form>", start)]
        match = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', html)
        check(match, f"{self.path} carries a {name} field")
        return match.group(1)


class Browser:
    """Cookies kept, redirects followed, HTTP errors returned as pages."""

    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def cookie(self, name: str) -> str | None:
        return next((c.value for c in self.jar if c.name == name), None)

    def open(self, path: str, data: dict | None = None, headers: dict | None = None) -> Page:
        url = self.base + path
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(url, data=body, headers=headers or {})
        if body is not None:
            # What a browser sends with a form: where it came from.
            request.add_header("Origin", self.base)
            request.add_header("Referer", url)
        try:
            with self.opener.open(request, timeout=TIMEOUT) as response:
                return Page(response.status, response.url, dict(response.headers), response.read())
        except urllib.error.HTTPError as error:
            return Page(error.code, url, dict(error.headers), error.read())

    def get(self, path: str, **headers: str) -> Page:
        return self.open(path, headers=headers)

    def post(self, path: str, data: dict) -> Page:
        return self.open(path, data=data)


def health(browser: Browser) -> Page:
    return browser.get("/healthz")


def wait(base: str, seconds: float, pid: int | None) -> None:
    browser = Browser(base)
    deadline = time.monotonic() + seconds
    while True:
        try:
            page = health(browser)
            if page.status == 200:
                print(f"ok - {base}/healthz answers 200", flush=True)
                return
        except OSError:
            pass  # not listening yet
        if pid is not None and not _alive(pid):
            raise SmokeFailure(f"the stack (pid {pid}) stopped before {base}/healthz answered")
        if time.monotonic() > deadline:
            raise SmokeFailure(f"{base}/healthz did not answer 200 within {seconds:.0f}s")
        time.sleep(0.5)


def drive(base: str, log: Path | None, mail_dir: Path | None) -> None:
    browser = Browser(base)

    page = health(browser)
    check(page.status == 200, "/healthz answers 200", page.text)
    check(
        json.loads(page.body) == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}},
        "/healthz reports database and broker ok",
        page.text,
    )

    # Sign in like a browser: the form sets the csrftoken cookie, the POST sends it back
    # with the token from the form.
    page = browser.get("/trains/")
    check(page.path == "/accounts/login/", "anonymous /trains/ is sent to sign in", page.url)
    page = browser.get("/accounts/login/")
    check(page.status == 200, "sign-in page answers 200", str(page.status))
    check(browser.cookie("csrftoken"), "sign-in page sets the csrftoken cookie")
    page = browser.post(
        "/accounts/login/",
        {"username": USERNAME, "password": PASSWORD, "csrfmiddlewaretoken": page.csrf_token()},
    )
    check(page.status == 200 and page.path == "/trains/", "signing in leads to /trains/", page.url)
    check(browser.cookie("sessionid"), "signing in sets the session cookie")

    check(TRAIN in page.text, f"/trains/ lists {TRAIN!r}")
    match = re.search(r'href="/trains/(\d+)/">' + re.escape(TRAIN) + "<", page.text)
    check(match, f"/trains/ links to {TRAIN!r}")
    train = f"/trains/{match.group(1)}/"

    # Static files: hashed names from the manifest, served compressed and cached for good.
    css = re.search(
        r'href="(/static/vendor/bootstrap/css/bootstrap\.min\.[0-9a-f]{12}\.css)"', page.text
    )
    check(css, "pages link hashed static file names", "no hashed bootstrap CSS link")
    asset = browser.get(css.group(1), **{"Accept-Encoding": "gzip"})
    check(asset.status == 200, f"{css.group(1)} answers 200", str(asset.status))
    check(asset.headers.get("Content-Encoding") == "gzip", "static files are served gzipped")
    check(b"bootstrap" in gzip.decompress(asset.body)[:500].lower(), "the CSS is bootstrap's")
    check(
        "immutable" in asset.headers.get("Cache-Control", ""), "hashed static files are immutable"
    )

    page = browser.get(train)
    check(page.status == 200, f"dashboard {train} answers 200", str(page.status))
    check(_state(page) == "Scoping", f"{TRAIN!r} is in scoping", str(_state(page)))
    step = f"{train}start_construction/"
    check(
        re.search(
            r'action="' + re.escape(step) + r'">(?:\s*<input[^>]*>)+\s*<button[^>]*type="submit">',
            page.text,
        ),
        "the dashboard offers an enabled 'start construction' button",
    )

    # As a browser does, the form sends the state the page showed (the lock compares it).
    page = browser.post(
        step, {"csrfmiddlewaretoken": page.csrf_token(step), "state": page.field("state", step)}
    )
    check(
        page.status == 200 and page.path == train,
        "starting construction returns to the dashboard",
        f"{page.status} {page.url}",
    )
    check(_state(page) == "Construction", "the train moved to construction", str(_state(page)))

    page = browser.get(train)
    check(
        _state(page) == "Construction", "a fresh load still shows construction", str(_state(page))
    )

    if log is not None:
        # gunicorn's workers write the request lines; give the pipe a moment.
        wanted = f"method=POST path={step} status=302 duration_ms="
        for _ in range(20):
            if wanted in log.read_text(errors="replace"):
                break
            time.sleep(0.25)
        check(
            wanted in log.read_text(errors="replace"),
            "the request log has a line for the step",
            wanted,
        )

    if mail_dir is not None:
        reminder_sent(browser, log, mail_dir)

    page = health(browser)
    check(page.status == 200, "/healthz still answers 200", page.text)


def reminder_sent(browser: Browser, log: Path | None, mail_dir: Path) -> None:
    """Beat's scan found a demo deadline and the worker mailed the reminder.

    Three views of the same fact: the sent-mail page (the outbox row, marked sent by the
    worker), the mail backend's output (the message itself), the worker's task log.
    """
    deadline = time.monotonic() + REMINDER_WAIT
    while True:
        listed = sent_reminders(browser)
        mailed = listed & mails(mail_dir)
        if mailed or time.monotonic() > deadline:
            break
        time.sleep(1)
    check(listed, "the sent-mail page lists a reminder marked sent", f"none in {REMINDER_WAIT}s")
    check(
        mailed,
        "the mail backend holds that reminder, to that address",
        f"listed {sorted(listed)[:3]}, mailed {sorted(mails(mail_dir))[:3]}",
    )
    subject, address = sorted(mailed)[0]
    print(f"     {address}: {subject}", flush=True)
    if log is not None:
        delivered = re.search(
            r"Task trains\.tasks\.dispatch_notifications\[[^\]]+\] succeeded in \S+: "
            r"\{'notifications': [1-9]",
            log.read_text(errors="replace"),
        )
        check(delivered, "the worker's log shows a notification delivered")


def sent_reminders(browser: Browser) -> set[tuple[str, str]]:
    """(subject, address) of each reminder that /notifications/sent/ shows as sent."""
    overview = browser.get("/notifications/sent/")
    if overview.status != 200:
        raise SmokeFailure(f"/notifications/sent/ answered {overview.status}")
    found = set()
    for pk in dict.fromkeys(re.findall(r'href="/notifications/sent/(\d+)/"', overview.text)):
        page = browser.get(f"/notifications/sent/{pk}/?status=sent")
        for item in re.findall(r'<li class="list-group-item">(.*?)</li>', page.text, re.S):
            if not any(f"· {kind} ·" in item for kind in REMINDER_KINDS) or ">Sent<" not in item:
                continue
            subject = re.search(r'<summary class="text-break">(.*?)</summary>', item, re.S)
            address = re.search(r"&lt;([^&]+)&gt;", item)
            if subject and address:
                found.add((unescape(subject.group(1)).strip(), unescape(address.group(1))))
    return found


def mails(mail_dir: Path) -> set[tuple[str, str]]:
    """(subject, address) of each message Django's file mail backend wrote."""
    found = set()
    for path in sorted(mail_dir.glob("*.log")):
        for raw in path.read_bytes().split(MAIL_SEPARATOR):
            if raw.strip():
                message = email.message_from_bytes(raw, policy=email.policy.default)
                for address in message.get_all("To", []):
                    found.add((str(message["Subject"]).strip(), str(address).strip()))
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _state(page: Page) -> str | None:
    """The state badge next to the train's name in the dashboard header."""
    match = re.search(
        r"<h1[^>]*>" + re.escape(TRAIN) + r'</h1>\s*<span class="badge text-bg-\w+">([^<]+)</span>',
        page.text,
    )
    return unescape(match.group(1)) if match else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["wait", "drive"])
    parser.add_argument("base", help="e.g. http://127.0.0.1:8091")
    parser.add_argument("--log", type=Path, help="the stack's log, to find the request lines")
    parser.add_argument("--mail-dir", type=Path, help="the file mail backend's directory")
    parser.add_argument("--timeout", type=float, default=60, help="wait: seconds to wait")
    parser.add_argument("--pid", type=int, help="wait: give up when this process ends")
    args = parser.parse_args()
    try:
        if args.action == "wait":
            wait(args.base, args.timeout, args.pid)
        else:
            drive(args.base, args.log, args.mail_dir)
    except SmokeFailure as failure:
        print(f"not ok - {failure}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
