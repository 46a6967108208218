"""Fixtures several test files share."""

import sys

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


@pytest.fixture(autouse=True)
def torch_settings_restored():
    """What a test sets of PyTorch's process-wide settings, such as the deterministic mode that
    ``setup_torch`` (every PyTorch notebook's first cell) switches on, ends with it: the next test
    in the same worker starts from PyTorch's defaults, whichever tests ran before."""
    torch = sys.modules.get("torch")
    saved = None
    if torch is not None:
        saved = (
            torch.are_deterministic_algorithms_enabled(),
            torch.is_deterministic_algorithms_warn_only_enabled(),
            torch.utils.deterministic.fill_uninitialized_memory,
        )
    yield
    torch = sys.modules.get("torch")
    if torch is not None:
        enabled, warn_only, fill = saved or (False, False, True)
        torch.use_deterministic_algorithms(enabled, warn_only=warn_only)
        torch.utils.deterministic.fill_uninitialized_memory = fill
