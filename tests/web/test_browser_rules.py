"""In a real browser: routing rules — a refused pattern with the API's message, a rule added,
tested, edited, followed by the next upload, and deleted."""

from __future__ import annotations

import re
from typing import Any

import pytest

from app.matching.rules import InvalidRulePattern, validate_rule_pattern
from tests.web.conftest import NESSUS_SEVEN_HOSTS, LiveSite, screenshot
from tests.web.helpers import log_in, records_by_host

BAD_CIDR = "10.31.112.1/24"
SCAN_NETWORK = "10.31.112.0/24"


def refusal_of(kind: str, pattern: str) -> str:
    with pytest.raises(InvalidRulePattern) as refused:
        validate_rule_pattern(kind, pattern)
    return refused.value.message


async def add_rule(page: Any, pattern: str, product: str) -> None:
    form = page.get_by_role("region", name="Add a rule")
    await form.get_by_label("Kind").select_option(label="CIDR range")
    await form.get_by_label("Pattern").fill(pattern)
    await form.get_by_label("Search products").fill(product[:3])
    await form.get_by_label("Product", exact=True).select_option(label=product)
    await form.get_by_role("button", name="Add rule").click()


class TestRoutingRules:
    async def test_rule_lifecycle_and_the_next_upload_follows_it(
        self, page: Any, live_site: LiveSite
    ) -> None:
        payments = live_site.product("Payments", live_site.alice)
        live_site.product("Build", live_site.alice)
        await live_site.refresh_index()
        await page.goto("/smart-upload/login?next=/smart-upload/rules")
        await log_in(page)
        await page.wait_for_url(re.compile(r"/smart-upload/rules$"))

        await add_rule(page, BAD_CIDR, "Payments")

        alert = page.get_by_role("alert")
        assert refusal_of("cidr", BAD_CIDR) in await alert.inner_text()
        assert await page.get_by_label("Pattern").input_value() == BAD_CIDR
        await screenshot(page, "rules-refused")

        await add_rule(page, SCAN_NETWORK, "Payments")

        await page.get_by_role("status").filter(has_text="added").wait_for()
        row = page.get_by_role("row").filter(has_text=SCAN_NETWORK)
        assert "Payments" in await row.inner_text()

        await page.get_by_label("Host", exact=True).fill("10.31.112.26")
        await page.get_by_label("Port", exact=True).fill("445")
        await page.get_by_role("button", name="Explain").click()

        verdict = page.locator(".explanation-box")
        await verdict.wait_for()
        text = await verdict.inner_text()
        assert "Goes to Payments, by a routing rule." in text
        assert SCAN_NETWORK in text
        await screenshot(page, "rules")

        await row.get_by_role("link", name=re.compile("^Edit")).click()
        await page.get_by_label("Priority").fill("50")
        await page.get_by_label("Description").fill("Coinstar QA network")
        await screenshot(page, "rule-edit")
        await page.get_by_role("button", name="Save rule").click()

        await page.get_by_role("status").filter(has_text="saved").wait_for()
        cells = await row.get_by_role("cell").all_inner_texts()
        assert cells[0] == "50" and cells[4] == "Coinstar QA network"

        await page.get_by_role("link", name="Add Findings").click()
        await page.get_by_label("Choose report file").set_input_files(str(NESSUS_SEVEN_HOSTS))
        await page.get_by_role("button", name="Import").click()
        await page.get_by_text("Completed", exact=True).wait_for()

        routed = page.get_by_role("row").filter(has=page.get_by_role("link", name="Payments"))
        assert await routed.get_by_role("cell").nth(4).inner_text() == str(
            sum(records_by_host().values())
        )
        assert {
            live_site.dojo.engagements[t.engagement_id].product_id
            for t in live_site.dojo.tests.values()
        } == {payments.id}

        await page.get_by_role("link", name="Routing rules").click()
        page.once("dialog", lambda dialog: dialog.accept())
        await page.get_by_role("button", name=f"Delete rule {SCAN_NETWORK}").click()

        await page.get_by_role("status").filter(has_text="deleted").wait_for()
        assert await page.get_by_text("No rules yet.").count() == 1
