"""In a real browser: the Unassigned Findings list — filters, sorting, selection, the three
actions with their dialogs and results — and scan text shown as text."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.async_api import expect

from app.services.keeping import stored_title
from tests.web.conftest import NESSUS_SEVEN_HOSTS, LiveSite, screenshot
from tests.web.helpers import (
    SCRIPT_TITLE,
    hostile_nessus,
    listed_ids,
    log_in,
    records_by_host,
    seed_products,
)


async def open_list(page: Any, site: LiveSite) -> None:
    await page.goto("/smart-upload/login?next=/smart-upload/unassigned")
    await log_in(page)
    await page.wait_for_url(re.compile(r"/smart-upload/unassigned$"))


async def filter_by(page: Any, **fields: str) -> None:
    for label, value in fields.items():
        control = page.get_by_label(label.replace("_", " ").capitalize(), exact=True)
        if await control.evaluate("el => el.tagName") == "SELECT":
            await control.select_option(value)
        else:
            await control.fill(value)
    await page.get_by_role("button", name="Apply filters").click()
    await page.wait_for_load_state()


def finding_rows(page: Any) -> Any:
    return page.locator("table.findings tbody tr")


class TestUnassignedList:
    async def test_filter_sort_and_ambiguous_candidates(
        self, page: Any, live_site: LiveSite
    ) -> None:
        await seed_products(live_site)
        summary = await live_site.api_upload(NESSUS_SEVEN_HOSTS)
        await open_list(page, live_site)
        assert await page.get_by_text(f"{summary['records']['unassigned']} finding(s).").count()
        await screenshot(page, "unassigned")

        await filter_by(page, host="qa3app05")

        expected = records_by_host()["qa3app05"]
        await page.get_by_text(f"{expected} finding(s) match the filter.").wait_for()
        hosts = await page.locator("table.findings td.host > span").all_inner_texts()
        assert len(hosts) == 25 and set(hosts) == {"qa3app05"}
        await page.get_by_role("link", name="Name").click()
        await page.wait_for_url(re.compile(r"ordering=title"))
        header = page.get_by_role("columnheader", name="Name")
        assert await header.get_attribute("aria-sort") == "ascending"
        assert await page.get_by_label("Host", exact=True).input_value() == "qa3app05"
        await page.get_by_role("link", name="Name").click()
        await page.wait_for_url(re.compile(r"ordering=-title"))
        assert await header.get_attribute("aria-sort") == "descending"

        await filter_by(page, host="", reason="ambiguous")

        first = finding_rows(page).first
        reason_cell = first.locator("td.reason-cell")
        candidates = await reason_cell.get_by_role("link").all_inner_texts()
        assert sorted(candidates) == ["Build", "Payments"]
        assert "qa3app04" in await reason_cell.locator(".explanation").inner_text()

    async def test_assign_all_matching_to_an_existing_product(
        self, page: Any, live_site: LiveSite
    ) -> None:
        payments_id, _ = await seed_products(live_site)
        await live_site.api_upload(NESSUS_SEVEN_HOSTS)
        await open_list(page, live_site)
        await filter_by(page, host="qa3app05")
        expected = records_by_host()["qa3app05"]

        await page.get_by_label("Select all findings on this page").check()
        await page.get_by_role("button", name=f"Select all {expected} findings matching").click()
        await page.get_by_role("button", name="Assign to Existing Product").click()
        dialog = page.get_by_role("dialog", name="Assign to Existing Product")
        await dialog.get_by_text(f"All {expected} finding(s) matching the filter").wait_for()
        await dialog.get_by_label("Search products").fill("pay")
        product = dialog.get_by_label("Product", exact=True)
        await product.locator("option", has_text="Payments").wait_for(state="attached")
        # the picker filters as the person types; expect() waits for it to settle
        await expect(product.locator("option:not([hidden])")).to_have_text(["Payments"])
        await product.select_option(label="Payments")
        await screenshot(page, "unassigned-assign-dialog", full_page=False)
        await dialog.get_by_role("button", name="Assign").click()

        status = page.get_by_role("status").filter(has_text="Assigned")
        await status.wait_for()
        assert f"Assigned {expected} finding(s)." in await status.inner_text()
        test_link = status.get_by_role("link", name=re.compile(r"^Payments: "))
        assert re.fullmatch(r"http://dojo\.test/test/\d+", await test_link.get_attribute("href"))
        await page.get_by_text("No unassigned finding matches the filter.").wait_for()
        await screenshot(page, "unassigned-assigned")
        pushed = {
            host
            for finding in live_site.dojo.findings.values()
            for status_ in live_site.dojo.statuses_of(finding.id)
            if (host := live_site.dojo.endpoints[status_.endpoint_id].host) == "qa3app05"
            and live_site.dojo.engagements[
                live_site.dojo.tests[finding.test_id].engagement_id
            ].product_id
            == payments_id
        }
        assert pushed == {"qa3app05"}

    async def test_create_a_product_in_a_picked_type_for_ticked_rows(
        self, page: Any, live_site: LiveSite
    ) -> None:
        await seed_products(live_site)
        internal = live_site.dojo.add_product_type("Internal Tools", members=[live_site.alice])
        await live_site.api_upload(NESSUS_SEVEN_HOSTS)
        await open_list(page, live_site)
        await filter_by(page, host="qa3app06", severity="Medium")
        rows = finding_rows(page)
        ticked = await rows.count()
        assert ticked > 1

        for index in range(ticked):
            await rows.nth(index).get_by_role("checkbox").check()
        await page.get_by_role("button", name="Assign to New Product").click()
        dialog = page.get_by_role("dialog", name="Assign to New Product")
        await dialog.get_by_text(f"{ticked} finding(s) selected").wait_for()
        await dialog.get_by_label("Product name").fill("Reporting")
        product_type = dialog.get_by_label("Product type", exact=True)
        await product_type.locator("option", has_text="Internal Tools").wait_for(state="attached")
        new_type_name = dialog.get_by_label("New product type name")
        await expect(new_type_name).to_be_visible()
        await product_type.select_option(label="Internal Tools")
        await expect(new_type_name).to_be_hidden()
        await screenshot(page, "unassigned-create-dialog", full_page=False)
        await dialog.get_by_role("button", name="Create and assign").click()

        status = page.get_by_role("status").filter(has_text="Assigned")
        await status.wait_for()
        assert f"Assigned {ticked} finding(s)." in await status.inner_text()
        [product] = [p for p in live_site.dojo.products.values() if p.name == "Reporting"]
        assert product.prod_type_id == internal.id
        await page.get_by_text("No unassigned finding matches the filter.").wait_for()

    async def test_disregard_one_row_after_confirmation(
        self, page: Any, live_site: LiveSite
    ) -> None:
        await seed_products(live_site)
        await live_site.api_upload(NESSUS_SEVEN_HOSTS)
        await open_list(page, live_site)
        await filter_by(page, host="qa3app09")
        before = records_by_host()["qa3app09"]
        box = finding_rows(page).first.get_by_role("checkbox")
        finding_id = int(await box.get_attribute("value"))
        findings_in_dojo = len(live_site.dojo.findings)

        await box.check()
        await page.get_by_role("button", name="Disregard Selected").click()
        dialog = page.get_by_role("dialog", name="Disregard Selected")
        await dialog.get_by_text("1 finding(s) selected").wait_for()
        await screenshot(page, "unassigned-disregard-dialog", full_page=False)
        await dialog.get_by_role("button", name="Cancel").click()
        await expect(dialog).to_be_hidden()
        await page.get_by_role("button", name="Disregard Selected").click()
        await dialog.get_by_role("button", name="Disregard", exact=True).click()

        await page.get_by_role("status").filter(has_text="Disregarded 1 finding(s).").wait_for()
        await page.get_by_text(f"{before - 1} finding(s) match the filter.").wait_for()
        assert finding_id not in await listed_ids(live_site)
        assert len(live_site.dojo.findings) == findings_in_dojo


class TestHostileText:
    async def test_script_title_is_shown_as_text(
        self, page: Any, live_site: LiveSite, tmp_path: Path
    ) -> None:
        await live_site.refresh_index()
        await live_site.api_upload(hostile_nessus(tmp_path))
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: dialogs.append(dialog.message))

        await open_list(page, live_site)

        title = finding_rows(page).first.locator(".finding-title")
        assert await title.inner_text() == stored_title(SCRIPT_TITLE)
        assert await page.locator("table.findings script, table.findings img").count() == 0
        assert dialogs == []
        await screenshot(page, "unassigned-hostile-title")


class TestCsrf:
    async def test_a_form_post_without_the_token_is_refused(
        self, page: Any, live_site: LiveSite
    ) -> None:
        await seed_products(live_site)
        await live_site.api_upload(NESSUS_SEVEN_HOSTS)
        await open_list(page, live_site)
        finding_id = await finding_rows(page).first.get_by_role("checkbox").get_attribute("value")

        refused = await page.request.post(
            "/smart-upload/unassigned/disregard", form={"ids": finding_id, "scope": "ids"}
        )

        assert refused.status == 403
        assert "Form refused" in await refused.text()
        assert int(finding_id) in await listed_ids(live_site)
