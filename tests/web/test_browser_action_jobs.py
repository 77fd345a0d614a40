"""In a real browser: an action on more findings than the threshold runs as a job; the list
says so, follows its progress by itself, and shows the per-product result when it ends."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from playwright.async_api import expect

from tests.web.conftest import NESSUS_SEVEN_HOSTS, LiveSite, screenshot
from tests.web.helpers import records_by_host, seed_products
from tests.web.test_browser_unassigned import filter_by, open_list


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"action_job_threshold": 10}


class TestActionJob:
    async def test_a_large_assignment_shows_its_progress_then_its_result(
        self, page: Any, live_site: LiveSite
    ) -> None:
        await seed_products(live_site)
        await live_site.api_upload(NESSUS_SEVEN_HOSTS)
        await open_list(page, live_site)
        await filter_by(page, host="qa3app05")
        expected = records_by_host()["qa3app05"]
        await page.get_by_label("Select all findings on this page").check()
        await page.get_by_role("button", name=f"Select all {expected} findings matching").click()
        await page.get_by_role("button", name="Assign to Existing Product").click()
        dialog = page.get_by_role("dialog", name="Assign to Existing Product")
        product = dialog.get_by_label("Product", exact=True)
        await product.locator("option", has_text="Payments").wait_for(state="attached")
        await product.select_option(label="Payments")
        live_site.gate.close()  # DefectDojo holds the job's push until the test lets it go

        await dialog.get_by_role("button", name="Assign").click()

        await page.wait_for_url(re.compile(r"action=\d+"))
        status = page.locator("#action-status")
        await expect(status).to_contain_text(
            f"Running as a job: assigning {expected} finding(s) to Payments."
        )
        assert await asyncio.to_thread(live_site.gate.waiting.wait, 30)
        await screenshot(page, "unassigned-action-job-running")
        live_site.gate.open()

        await expect(status).to_contain_text(f"Assigned {expected} finding(s).")
        test_link = status.get_by_role("link", name=re.compile(r"^Payments: "))
        assert re.fullmatch(r"http://dojo\.test/test/\d+", await test_link.get_attribute("href"))
        await screenshot(page, "unassigned-action-job-done")
        await status.get_by_role("link", name="Show the list as it is now").click()
        await page.get_by_text("No unassigned finding matches the filter.").wait_for()
