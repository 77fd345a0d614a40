"""Kill tests: the service as a real uvicorn process, SIGKILLed at chosen points of an
upload (`SMART_UPLOAD_TEST_CRASH_AT`), restarted, and left to resume once the lease (1 s
here) expires. The end state must equal that of the same upload run without a crash: same
products and counts, same DefectDojo engagements, tests and findings (read from the
double's API as its admin), same unassigned findings.
"""

from __future__ import annotations

import signal
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import NESSUS_SEVEN_HOSTS
from tests.reliability.processes import (
    END_STATES,
    Process,
    ServiceConfig,
    dojo_rows,
    poll,
    start_dojo,
    start_service,
    truncate,
)
from tests.reliability.seeds import ADMIN_TOKEN, SERVICE_TOKEN, USER_TOKENS, auth, seed

ALICE = auth(USER_TOKENS["alice"])
ADMIN = auth(ADMIN_TOKEN)


def _upload(service: Process, *, wait: bool) -> httpx.Response:
    return httpx.post(
        service.url + "/api/v2/smart_upload_import/",
        headers=ALICE,
        data={"scan_type": "Tenable Scan", "wait": str(wait).lower()},
        files={"file": (NESSUS_SEVEN_HOSTS.name, NESSUS_SEVEN_HOSTS.read_bytes())},
        timeout=60,
    )


def _finished(service: Process) -> dict[str, Any] | None:
    listed = httpx.get(service.url + "/api/v2/smart_upload/uploads/", headers=ADMIN, timeout=10)
    [upload] = listed.json()["results"]
    return upload if upload["status"] in END_STATES else None


def _end_state(service: Process, dojo: Process, summary: dict[str, Any]) -> dict[str, Any]:
    listed = httpx.get(
        service.url + "/api/v2/smart_upload/unassigned_findings/",
        headers=ALICE,
        params={"upload": summary["id"], "limit": 1000},
        timeout=10,
    ).json()
    return {
        "status": summary["status"],
        "attempts": [p["attempts"] for p in summary["products"]],
        "push": [p["push"] for p in summary["products"]],
        "records": summary["records"],
        "products": sorted(
            (p["product_name"], p["status"], p["records"], tuple(p["hosts"]), p["test_id"])
            for p in summary["products"]
        ),
        "unassigned": summary["unassigned"]["by_reason"],
        "unassigned_listed": dict(Counter(item["reason"] for item in listed["results"])),
        "engagements": sorted(
            (e["id"], e["product"], e["name"]) for e in dojo_rows(dojo, "/api/v2/engagements/")
        ),
        "tests": sorted(
            (t["id"], t["engagement"], t["title"], t["scan_type"])
            for t in dojo_rows(dojo, "/api/v2/tests/")
        ),
        "findings": sorted(
            Counter(
                (f["test"], f["title"], f["severity"], f["active"])
                for f in dojo_rows(dojo, "/api/v2/findings/")
            ).items()
        ),
    }


def _run(database_url: str, directory: Path, *, crash_at: str | None, wait: bool) -> dict[str, Any]:
    """One upload from a fresh database and a fresh DefectDojo; killed at `crash_at`."""
    truncate(database_url)
    directory.mkdir(parents=True, exist_ok=True)
    dojo = start_dojo(seed(), directory)
    config = ServiceConfig(database_url, dojo.url, SERVICE_TOKEN, directory)
    crashing = {"SMART_UPLOAD_TEST_CRASH_AT": crash_at} if crash_at else {}
    service = start_service(config, SMART_UPLOAD_PUSH_CONCURRENCY="1", **crashing)
    try:
        refreshed = httpx.post(service.url + "/api/v2/smart_upload/index/", headers=ADMIN)
        assert refreshed.status_code == 200, refreshed.text
        if crash_at is None or not wait:
            answer = _upload(service, wait=wait)
            assert answer.status_code == (201 if wait else 202), answer.text
        else:
            with pytest.raises(httpx.TransportError):
                _upload(service, wait=wait)
        if crash_at is not None:
            assert service.wait_killed() == -signal.SIGKILL, service.tail()
            service = start_service(config, SMART_UPLOAD_PUSH_CONCURRENCY="1")
        summary = poll(lambda: _finished(service), timeout=60, what="the upload to finish")
        return _end_state(service, dojo, summary)
    finally:
        service.stop()
        dojo.stop()


@pytest.fixture(scope="module")
def without_crash(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _run(database_url, tmp_path_factory.mktemp("baseline"), crash_at=None, wait=False)


class TestKilledUploadResumes:
    def test_the_run_without_crash_is_a_meaningful_reference(
        self, without_crash: dict[str, Any]
    ) -> None:
        assert without_crash["status"] == "completed"
        assert without_crash["attempts"] == [1, 1]
        assert [p[1] for p in without_crash["products"]] == ["pushed", "pushed"]
        assert len(without_crash["tests"]) == 2
        assert without_crash["unassigned"] == without_crash["unassigned_listed"]
        assert set(without_crash["unassigned"]) == {"ambiguous", "no_match"}

    @pytest.mark.parametrize(
        ("crash_at", "wait"),
        [
            ("during_plan", False),
            ("after_plan", True),
            ("after_dd_answer", False),
            ("between_pushes", False),
        ],
        ids=["during-parse", "after-plan-in-request", "after-dd-answered", "between-pushes"],
    )
    def test_end_state_equals_the_run_without_crash(
        self,
        database_url: str,
        tmp_path: Path,
        without_crash: dict[str, Any],
        crash_at: str,
        wait: bool,
    ) -> None:
        crashed = _run(database_url, tmp_path, crash_at=crash_at, wait=wait)

        # the push DefectDojo answered was sent again, and found its test: a reimport
        resent = crash_at == "after_dd_answer"
        assert crashed.pop("attempts") == [2 if resent else 1, 1]
        assert crashed.pop("push") == ["reimport" if resent else "import", "import"]
        assert crashed == {k: v for k, v in without_crash.items() if k not in {"attempts", "push"}}
