"""In a real browser: every control has a label, the list works from the keyboard, and an
error is a page a person can read."""

from __future__ import annotations

import re
from typing import Any

from playwright.async_api import expect

from tests.web.conftest import NESSUS_SEVEN_HOSTS, PASSWORD, LiveSite, screenshot
from tests.web.helpers import log_in, seed_products

UNLABELLED = """() => Array.from(document.querySelectorAll('input, select, textarea'))
    .filter((el) => el.type !== 'hidden')
    .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
    .map((el) => el.outerHTML)"""


class TestAccessibility:
    async def test_every_control_of_every_page_has_a_label(
        self, page: Any, live_site: LiveSite
    ) -> None:
        await seed_products(live_site)
        summary = await live_site.api_upload(NESSUS_SEVEN_HOSTS)
        await page.goto("/smart-upload/login")
        assert await page.evaluate(UNLABELLED) == []
        await log_in(page)
        pages = [
            "/smart-upload/add",
            "/smart-upload/unassigned",
            "/smart-upload/uploads",
            f"/smart-upload/uploads/{summary['id']}",
            "/smart-upload/rules?host=qa3app01",
        ]
        for path in pages:
            await page.goto(path)
            assert await page.evaluate(UNLABELLED) == [], path

    async def test_select_and_open_an_action_with_the_keyboard(
        self, page: Any, live_site: LiveSite
    ) -> None:
        await seed_products(live_site)
        await live_site.api_upload(NESSUS_SEVEN_HOSTS)
        await page.goto("/smart-upload/login?next=/smart-upload/unassigned")
        await expect(page.locator("input[name=username]")).to_be_focused()
        await page.keyboard.type("alice")
        await page.keyboard.press("Tab")
        await page.keyboard.type(PASSWORD)
        await page.keyboard.press("Enter")
        await page.wait_for_url(re.compile(r"/smart-upload/unassigned$"))

        await page.locator("[data-row-select]").first.focus()
        await page.keyboard.press("Space")
        await expect(page.get_by_text("1 finding(s) selected").first).to_be_visible()
        button = page.get_by_role("button", name="Disregard Selected")
        await button.focus()
        await page.keyboard.press("Enter")
        dialog = page.get_by_role("dialog", name="Disregard Selected")
        await dialog.wait_for()
        await expect(page.locator(":focus")).to_have_text("Cancel")  # the safe choice
        await page.keyboard.press("Escape")

        await dialog.wait_for(state="hidden")
        await expect(page.locator(":focus")).to_have_text("Disregard Selected")

    async def test_an_upload_that_is_not_yours_is_a_readable_error_page(
        self, page: Any, live_site: LiveSite
    ) -> None:
        await live_site.refresh_index()
        summary = await live_site.api_upload(NESSUS_SEVEN_HOSTS, user=live_site.bob)
        await page.goto("/smart-upload/login")
        await log_in(page)

        response = await page.goto(f"/smart-upload/uploads/{summary['id']}")

        assert response.status == 404
        assert (
            f"There is no upload {summary['id']} of yours."
            in await page.get_by_role("alert").inner_text()
        )
        await screenshot(page, "error-not-found")
