"""In a real browser: log in, import a scan, watch its progress turn into the summary, follow
the summary into the unassigned list, look at the uploads, log out."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from tests.web.conftest import DD_URL, NESSUS_SEVEN_HOSTS, LiveSite, screenshot
from tests.web.helpers import log_in, records_by_host, seed_products


class TestLogin:
    async def test_wrong_password_shows_defectdojo_message_then_login_returns_to_page(
        self, page: Any, live_site: LiveSite
    ) -> None:
        await page.goto("/smart-upload/unassigned")
        assert "/smart-upload/login" in page.url

        await log_in(page, password="wrong")

        alert = page.get_by_role("alert")
        await alert.wait_for()
        assert "Unable to log in with provided credentials." in await alert.inner_text()
        assert await page.get_by_label("Username").input_value() == "alice"
        await screenshot(page, "login-refused")

        await log_in(page)

        await page.wait_for_url(re.compile(r"/smart-upload/unassigned$"))
        assert await page.get_by_role("heading", level=1).inner_text() == "Unassigned Findings"

    async def test_logout_ends_the_session(self, page: Any, live_site: LiveSite) -> None:
        await page.goto("/smart-upload/login")
        await log_in(page)
        await page.wait_for_url(re.compile(r"/smart-upload/add$"))

        await page.get_by_role("button", name="Log out").click()

        await page.wait_for_url(re.compile(r"/smart-upload/login$"))
        await page.goto("/smart-upload/uploads")
        assert "/smart-upload/login" in page.url


class TestAddFindings:
    async def test_import_shows_progress_then_summary_with_links(
        self, page: Any, live_site: LiveSite
    ) -> None:
        payments_id, build_id = await seed_products(live_site)
        per_host = records_by_host()
        await page.goto("/smart-upload/login")
        await log_in(page)
        await page.wait_for_url(re.compile(r"/smart-upload/add$"))
        await screenshot(page, "add-findings")
        assert await page.get_by_label("Scan type").input_value() == ""  # Detect from file
        live_site.gate.close()

        await page.get_by_label("Choose report file").set_input_files(str(NESSUS_SEVEN_HOSTS))
        await page.get_by_role("button", name="Import").click()

        await page.wait_for_url(re.compile(r"/smart-upload/uploads/\d+$"))
        assert await asyncio.to_thread(live_site.gate.waiting.wait, 15)
        progress = page.get_by_role("heading", name="In progress")
        await page.get_by_text("Pushing to DefectDojo: 0 of 2 product(s) done.").wait_for()
        await screenshot(page, "upload-progress")
        live_site.gate.open()
        await page.get_by_text("Completed", exact=True).wait_for()
        await progress.wait_for(state="detached")
        await screenshot(page, "upload-summary")

        row = page.get_by_role("row").filter(has=page.get_by_role("link", name="Payments"))
        expected_payments = per_host["qa3app01"] + per_host["qa3app02"]
        assert (await row.get_by_role("cell").nth(4).inner_text()) == str(expected_payments)
        product_link = row.get_by_role("link", name="Payments")
        assert await product_link.get_attribute("href") == f"{DD_URL}/product/{payments_id}"
        [test] = [
            t
            for t in live_site.dojo.tests.values()
            if t.title == "2459_Coinstar"
            and live_site.dojo.engagements[t.engagement_id].product_id == payments_id
        ]
        test_link = row.get_by_role("link", name="2459_Coinstar")
        assert await test_link.get_attribute("href") == f"{DD_URL}/test/{test.id}"
        engagement_link = row.get_by_role("link", name=re.compile("Engagement"))
        assert await engagement_link.get_attribute("href") == (
            f"{DD_URL}/engagement/{test.engagement_id}"
        )
        build_link = page.get_by_role("link", name="Build", exact=True)
        assert await build_link.get_attribute("href") == f"{DD_URL}/product/{build_id}"

        no_match = per_host["qa3app05"] + per_host["qa3app06"] + per_host["qa3app09"]
        await page.get_by_role("link", name=f"No product matches: {no_match}").click()

        await page.wait_for_url(re.compile(r"/smart-upload/unassigned\?"))
        assert await page.get_by_text(f"{no_match} finding(s) match the filter").count() == 1
        assert await page.get_by_label("Reason").input_value() == "no_match"

    async def test_uploads_list_shows_status_and_counts(
        self, page: Any, live_site: LiveSite
    ) -> None:
        await seed_products(live_site)
        summary = await live_site.api_upload(NESSUS_SEVEN_HOSTS)
        await page.goto("/smart-upload/login")
        await log_in(page)

        await page.get_by_role("link", name="Uploads", exact=True).click()

        row = page.get_by_role("row").filter(has=page.get_by_text("nessus_v_unknown.xml"))
        cells = [await c.inner_text() for c in await row.get_by_role("cell").all()]
        records = summary["records"]
        assert cells[3] == "Completed"
        assert cells[6:10] == [
            str(records["parsed"]),
            str(records["routed"]),
            str(records["unassigned"]),
            str(records["dropped_below_minimum_severity"]),
        ]
        await screenshot(page, "uploads")


class TestRetry:
    async def test_failed_pushes_are_retried_from_the_uploads_list(
        self, page: Any, live_site: LiveSite
    ) -> None:
        await seed_products(live_site)
        live_site.dojo.faults.fail(None, "/api/v2/import-scan/", status=500, times=None)
        summary = await live_site.api_upload(NESSUS_SEVEN_HOSTS)
        assert summary["status"] == "completed_with_errors"
        live_site.dojo.faults.clear()
        await page.goto("/smart-upload/login?next=/smart-upload/uploads")
        await log_in(page)
        row = page.get_by_role("row").filter(has=page.get_by_text("nessus_v_unknown.xml"))
        assert "2 failed" in await row.inner_text()
        await screenshot(page, "uploads-failed-pushes")

        await row.get_by_role(
            "button", name=f"Retry the failed pushes of upload {summary['id']}"
        ).click()

        await page.get_by_role("status").filter(has_text="sent again").wait_for()
        await page.get_by_text("Completed", exact=True).wait_for()
        assert await page.get_by_text("Pushed", exact=True).count() == 2
        assert await page.get_by_role("button", name="Retry failed pushes").count() == 0
        await screenshot(page, "upload-retried")
