"""The Unassigned Findings page with a selection past the threshold (over plain HTTP): the
action runs as a job, the list says so and polls the job's status fragment until it ends,
then shows the same per-product result a small action shows."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from app.jobs.worker import claim_and_run_one
from tests.web.conftest import NESSUS_SEVEN_HOSTS, Site
from tests.web.helpers import listed_ids, records_by_host

THRESHOLD = 10
POLL = re.compile(r'data-poll="([^"]+)"')


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"action_job_threshold": THRESHOLD}


def _final(html: str) -> str:
    found = re.search(r'data-final="(true|false)"', html)
    assert found, "no action status in the page"
    return found.group(1)


class TestActionJobOnThePage:
    async def test_a_large_assignment_runs_as_a_job_and_the_list_shows_its_result(
        self, site: Site
    ) -> None:
        payments = site.product("Payments", site.alice)
        await site.refresh_index()
        await site.api_upload(NESSUS_SEVEN_HOSTS)
        await site.login()
        expected = records_by_host()["qa3app05"]

        response = await site.client.post(
            "/smart-upload/unassigned/assign",
            data={
                "csrf_token": await site.csrf("/unassigned"),
                "scope": "all",
                "host": "qa3app05",
                "product": str(payments.id),
                "back": "host=qa3app05",
            },
        )

        assert response.status_code == 303
        target = urlsplit(response.headers["location"])
        query = parse_qs(target.query)
        assert target.path == "/smart-upload/unassigned" and query["host"] == ["qa3app05"]
        [action_id] = query["action"]
        # the page ran the job after its answer: it has ended by now
        page = await site.client.get(response.headers["location"])
        assert _final(page.text) == "true"
        assert POLL.search(page.text) is None
        assert f"Assigned {expected} finding(s)." in page.text
        assert re.search(r'href="http://dojo\.test/test/\d+">Payments: ', page.text)
        assert 'href="/smart-upload/unassigned?host=qa3app05">Show the list as it is now' in (
            page.text
        )
        job = await site.client.get(
            f"/api/v2/smart_upload/unassigned_findings/actions/{action_id}/",
            headers={"Authorization": f"Token {site.alice.token}"},
        )
        assert (job.json()["status"], job.json()["result"]["assigned"]) == ("finished", expected)
        assert job.json()["attempts"] == 1

    async def test_the_list_polls_a_running_job_until_it_ends(self, site: Site) -> None:
        await site.refresh_index()
        await site.api_upload(NESSUS_SEVEN_HOSTS)
        expected = records_by_host()["qa3app09"]
        queued = await site.client.post(
            "/api/v2/smart_upload/unassigned_findings/disregard/",
            headers={"Authorization": f"Token {site.alice.token}"},
            json={"all_matching": {"host": "qa3app09"}},
        )
        assert queued.status_code == 202, queued.text
        action_id = queued.json()["id"]
        await site.login()

        page = await site.client.get(
            "/smart-upload/unassigned", params={"host": "qa3app09", "action": action_id}
        )

        assert _final(page.text) == "false"
        assert f"Running as a job: disregarding {expected} finding(s)." in page.text
        poll = POLL.search(page.text)
        assert poll is not None
        fragment = poll.group(1).replace("&amp;", "&")
        assert fragment == (
            f"/smart-upload/unassigned/actions/{action_id}/status?back=host%3Dqa3app09"
        )
        assert _final((await site.client.get(fragment)).text) == "false"

        assert await claim_and_run_one(site.app.state.context)

        ended = await site.client.get(fragment)
        assert _final(ended.text) == "true"
        assert f"Disregarded {expected} finding(s)." in ended.text
        assert 'href="/smart-upload/unassigned?host=qa3app09"' in ended.text
        assert len(await listed_ids(site)) == sum(records_by_host().values()) - expected

    async def test_someone_elses_job_is_not_shown(self, site: Site) -> None:
        await site.refresh_index()
        await site.api_upload(NESSUS_SEVEN_HOSTS)
        queued = await site.client.post(
            "/api/v2/smart_upload/unassigned_findings/disregard/",
            headers={"Authorization": f"Token {site.alice.token}"},
            json={"all_matching": {"host": "qa3app09"}},
        )
        action_id = queued.json()["id"]
        await site.login(site.bob)

        page = await site.client.get("/smart-upload/unassigned", params={"action": action_id})
        fragment = await site.client.get(f"/smart-upload/unassigned/actions/{action_id}/status")

        assert page.status_code == 200 and "action-status" not in page.text
        assert fragment.status_code == 404

    async def test_a_small_selection_still_answers_at_once(self, site: Site) -> None:
        await site.refresh_index()
        await site.api_upload(NESSUS_SEVEN_HOSTS)
        await site.login()
        ids = sorted(await listed_ids(site))[:3]

        response = await site.client.post(
            "/smart-upload/unassigned/disregard",
            data={
                "csrf_token": await site.csrf("/unassigned"),
                "scope": "ids",
                "ids": [str(i) for i in ids],
            },
            follow_redirects=True,
        )

        assert "Disregarded 3 finding(s)." in response.text
        assert "action-status" not in response.text
        assert not set(ids) & await listed_ids(site)
