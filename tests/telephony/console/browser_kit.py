"""Driving the console in a real Chromium (Debian's /usr/bin/chromium; nothing downloaded)."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "console"

try:
    from playwright.async_api import Browser, ConsoleMessage, Page, async_playwright
except ImportError:  # pragma: no cover - the test extra installs it
    async_playwright = None  # type: ignore[assignment]


def need_browser() -> None:
    if async_playwright is None:
        pytest.skip("the playwright package is not installed (pip install -e '.[test]')")
    if not CHROMIUM.exists() and not shutil.which("chromium"):
        pytest.skip("no Chromium at /usr/bin/chromium (apt-get install chromium)")


@contextlib.asynccontextmanager
async def chromium(extra_args: tuple[str, ...] = ()) -> AsyncIterator[Browser]:
    need_browser()
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=str(CHROMIUM if CHROMIUM.exists() else shutil.which("chromium")),
            headless=True,
            args=["--no-sandbox", "--use-fake-ui-for-media-stream", *extra_args],
        )
        try:
            yield browser
        finally:
            await browser.close()


async def sign_in(page: Page, base: str, email: str, password: str) -> None:
    await page.goto(f"{base}/console")
    await page.fill("#login-email", email)
    await page.fill("#login-password", password)
    await page.click("#login-form button[type=submit]")
    await page.wait_for_selector("#app:not([hidden])")
    await page.wait_for_selector("#conn.up")  # the live socket said hello


async def shoot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def collect_errors(page: Page) -> list[str]:
    """JavaScript errors the page raises; a test asserts the list stays empty. (Chromium also
    logs every non-2xx fetch as a console error; those are answers the page handles.)"""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    def on_console(msg: ConsoleMessage) -> None:
        if msg.type == "error" and not msg.text.startswith("Failed to load resource"):
            errors.append(msg.text)

    page.on("console", on_console)
    return errors
