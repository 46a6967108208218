"""Fixtures several test files share."""

import pytest


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium driven by Playwright, for the browser and hub tests (which say why they
    skip when either is missing)."""
    from test_browser import CHROMIUM_ARGS, chromium_path, playwright

    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
