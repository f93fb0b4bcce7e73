"""Helpers for the browser tests: a free loopback port, headless Debian Chromium driven by
Playwright, and a guard that fails the test if the page fetches anything off this machine."""

from __future__ import annotations

import os
import re
import socket
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

import pytest

CHROMIUM = os.environ.get("COACH_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_page(url: str, timeout: float, proc=None) -> float:
    """Seconds until `url` answers 200 (fails early if the server process died)."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the server exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return time.perf_counter() - t0
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {timeout:.0f}s")


class Seen(list):
    """The off-machine URLs a page asked for (a list), and the errors its console printed (`.console`)."""

    def __init__(self) -> None:
        super().__init__()
        self.console: list[str] = []


@contextmanager
def chromium_page(width: int = 1280, height: int = 1000):
    """A Playwright page in headless Chromium; yields (page, off-machine requests with `.console`)."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("COACH_REQUIRE_BROWSER"):
            raise AssertionError(f"{CHROMIUM} not found: apt-get install -y chromium chromium-driver")
        pytest.skip(f"{CHROMIUM} not found: apt-get install -y chromium chromium-driver (or set COACH_CHROMIUM)")
    sync_api = pytest.importorskip("playwright.sync_api")
    external = Seen()

    def guard(route):
        url = route.request.url
        if urlparse(url).hostname in LOCAL_HOSTS or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            external.append(url)
            route.abort()

    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context(viewport={"width": width, "height": height})
            context.route("**/*", guard)  # every tab of this window
            context.on("page", lambda page: page.on(
                "console", lambda m: external.console.append(m.text) if m.type == "error" else None))
            # generous waits: on 2 shared cores a page update can take seconds; a wait only costs
            # time when the test is failing anyway
            context.set_default_timeout(60_000)
            sync_api.expect.set_options(timeout=30_000)
            yield context.new_page(), external
        finally:
            browser.close()


def practise_one_answer(page, url: str, section_label: str, answer: str, timeout_ms: int) -> dict:
    """Pick a section, get a question, answer it, wait for the grade card and open its sources.
    Returns timings in seconds."""
    from playwright.sync_api import expect

    t0 = time.perf_counter()
    page.goto(url)
    page.get_by_role("tab", name="Practise a section").click()
    combo = page.locator("#section-pick input")
    combo.click()
    combo.fill(section_label.split(" ")[0])
    page.get_by_role("option", name=section_label).click()
    page.locator("#section-start").click()
    expect(page.locator("#section-chat")).to_contain_text("Question", timeout=timeout_ms)
    t_question = time.perf_counter()
    page.locator("#section-answer textarea").fill(answer)
    page.locator("#section-submit").click()
    expect(page.locator("#section-card")).to_contain_text("Score", timeout=timeout_ms)
    t_card = time.perf_counter()
    # the turn is complete when the answer box and buttons are usable again and no stream is running
    expect(page.locator("#section-chat [data-testid=status-tracker]").first).to_have_class(
        re.compile(r"\bhide\b"), timeout=timeout_ms)
    t_done = time.perf_counter()
    return {"first_question": t_question - t0, "grade_card": t_card - t_question, "turn": t_done - t_question}
