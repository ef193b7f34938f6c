"""Browser steps the Playwright tests share: signing in through the sign-in form, and a signed-in page in a
context of its own."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.support.accounts import PASSWORD

HOME = r"/app$"  # where a sign-in lands (the overview), unless the role has no overview


def fill_sign_in(page: Any, email: str, lands: str = HOME) -> Any:
    """Sign ``page`` in through the sign-in form as ``email`` (the test password); waits until it lands on a URL
    matching ``lands``."""
    page.goto("/signin")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(lands))
    return page


def sign_in(context: Any, email: str, lands: str = HOME) -> Any:
    """A new page of ``context``, signed in as ``email``."""
    return fill_sign_in(context.new_page(), email, lands)


def new_context(browser: Any, base: str, viewport: dict[str, int], timeout_ms: int) -> Any:
    """A browser context on the app at ``base``, its actions and assertions waiting up to ``timeout_ms``."""
    context = browser.new_context(base_url=base, viewport=viewport)
    context.set_default_timeout(timeout_ms)
    return context


@contextmanager
def signed_in(
    browser: Any, base: str, email: str, viewport: dict[str, int], timeout_ms: int, lands: str = HOME
) -> Iterator[Any]:
    """A page signed in as ``email`` in a context of its own, closed after the block."""
    context = new_context(browser, base, viewport, timeout_ms)
    try:
        yield sign_in(context, email, lands)
    finally:
        context.close()
