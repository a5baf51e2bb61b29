"""A real Chromium, driven by Playwright, against the app served by hypercorn as `make run` serves it."""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TYPE_CHECKING

import pytest

from ..mailbox import Mailbox, smtp_server
from ..serving import app_env, free_port, migrate, ROOT, serve

if TYPE_CHECKING:  # playwright may be missing; then these tests are skipped, not broken
    from playwright.sync_api import Browser, BrowserContext, Page

HERE = Path(__file__).parent
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# Without the networking switches Chromium keeps calling home, which floods a closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# CI sets this so that a missing browser fails the run instead of quietly skipping it.
REQUIRED = os.environ.get("QUARTAPP_REQUIRE_BROWSER", "") not in ("", "0")


def find_chromium() -> str | None:
    """Return the Chromium named by $CHROMIUM, else the first one on PATH."""
    if configured := os.environ.get("CHROMIUM"):
        return shutil.which(configured)
    return next(filter(None, map(shutil.which, CHROMIUM_NAMES)), None)


def playwright_installed() -> bool:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return True


def unavailable() -> str | None:
    """Return why the browser tests cannot run here, or None when they can."""
    if not playwright_installed():
        return "the playwright package is not installed; install it with `pip install -e '.[test]'`"
    if find_chromium() is None:
        if configured := os.environ.get("CHROMIUM"):
            return f"CHROMIUM={configured} is not an executable; point it at a Chromium or unset it"
        return "no Chromium found; install it with `apt-get install chromium` or set CHROMIUM=/path/to/chromium"
    return None


UNAVAILABLE = None if REQUIRED else unavailable()
if UNAVAILABLE and not playwright_installed():
    collect_ignore_glob = ["test_*.py"]  # they import playwright; there is nothing to collect


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if UNAVAILABLE:
        for item in items:
            if item.path.is_relative_to(HERE):
                item.add_marker(pytest.mark.skip(reason=f"browser tests skipped: {UNAVAILABLE}"))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if UNAVAILABLE:
        terminalreporter.write_line(f"browser tests skipped: {UNAVAILABLE}", yellow=True, bold=True)


@pytest.fixture(scope="package")
def mail_server() -> Iterator[Mailbox]:
    """The SMTP server the served app sends its mail to, in this process."""
    with smtp_server() as mailbox:
        yield mailbox


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory, mail_server: Mailbox) -> Iterator[str]:
    """Migrate a fresh SQLite file, serve it with hypercorn on a free loopback port, yield its URL.

    The URL names localhost, as BASE_URL does: passkeys belong to a host name, never to an IP.
    """
    folder = tmp_path_factory.mktemp("server")
    port = free_port()
    env = app_env(
        DATABASE_URL=f"sqlite+aiosqlite:///{folder / 'quartapp.sqlite3'}",
        SECRET_KEY=secrets.token_urlsafe(32),
        BCRYPT_ROUNDS="4",
        SMTP_URL=mail_server.url,
        BASE_URL=f"http://localhost:{port}",  # links in mails lead back to this server
    )
    migrate(env)
    with serve(env, folder, port=port):
        yield f"http://localhost:{port}"


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """One headless Chromium for all stories; each story gets its own context."""
    from playwright.sync_api import sync_playwright

    executable = find_chromium()
    if executable is None:
        pytest.fail(f"browser tests required but cannot run: {unavailable()}")
    with sync_playwright() as playwright:
        # Playwright turns the back/forward cache off; people's browsers have it on, and it is what
        # could show the signed-in page again after signing out.
        browser = playwright.chromium.launch(
            executable_path=executable, args=CHROMIUM_ARGS, ignore_default_args=["--disable-back-forward-cache"]
        )
        yield browser
        browser.close()


@pytest.fixture
def new_context(browser: Browser, server: str) -> Iterator[Callable[..., BrowserContext]]:
    """Open browser contexts (fresh browser profiles) on the server, closed after the test."""
    contexts: list[BrowserContext] = []

    def open_context(**options: Any) -> BrowserContext:  # Browser.new_context's own keyword arguments
        context = browser.new_context(base_url=server, **options)
        contexts.append(context)
        return context

    yield open_context
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_context: Callable[..., BrowserContext]) -> Page:
    return new_context().new_page()


@pytest.fixture(scope="package")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
