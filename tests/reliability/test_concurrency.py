"""Twenty uploads at once from four users, run by two worker processes (`run_worker(2)`
each) beside an API process that runs none (`SMART_UPLOAD_RUN_WORKER=false`), all sharing
one Postgres and one DefectDojo: every upload is run once, every record is accounted for
exactly once, and no engagement or test is created twice."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from tests.e2e.conftest import NESSUS_SEVEN_HOSTS
from tests.reliability.processes import (
    END_STATES,
    Process,
    ServiceConfig,
    dojo_rows,
    poll,
    start_dojo,
    start_service,
    start_worker,
    truncate,
)
from tests.reliability.seeds import ADMIN_TOKEN, SERVICE_TOKEN, USER_TOKENS, auth, seed

UPLOADS_PER_USER = 5


async def _upload_all(service: Process) -> list[httpx.Response]:
    body = NESSUS_SEVEN_HOSTS.read_bytes()
    async with httpx.AsyncClient(base_url=service.url, timeout=60) as client:
        return await asyncio.gather(
            *(
                client.post(
                    "/api/v2/smart_upload_import/",
                    headers=auth(token),
                    data={"scan_type": "Tenable Scan", "wait": "false"},
                    files={"file": (NESSUS_SEVEN_HOSTS.name, body)},
                )
                for token in USER_TOKENS.values()
                for _ in range(UPLOADS_PER_USER)
            )
        )


def _all_finished(service: Process, expected: int) -> list[dict[str, Any]] | None:
    listed = httpx.get(
        service.url + "/api/v2/smart_upload/uploads/",
        headers=auth(ADMIN_TOKEN),
        params={"limit": 100},
        timeout=10,
    ).json()["results"]
    done = [u for u in listed if u["status"] in END_STATES]
    return listed if len(done) == expected else None


def _rows(database_url: str, query: str) -> list[asyncpg.Record]:
    async def fetch() -> list[asyncpg.Record]:
        connection = await asyncpg.connect(database_url)
        try:
            return list(await connection.fetch(query))
        finally:
            await connection.close()

    return asyncio.run(fetch())


def _started(worker: Process) -> bool | None:
    if worker.popen.poll() is not None:
        raise AssertionError(worker.tail())
    return True if '"worker.start"' in worker.text() else None


def test_twenty_uploads_four_users_two_worker_processes(database_url: str, tmp_path: Path) -> None:
    truncate(database_url)
    dojo = start_dojo(seed(members=tuple(USER_TOKENS)), tmp_path)
    config = ServiceConfig(database_url, dojo.url, SERVICE_TOKEN, tmp_path)
    api = start_service(config, SMART_UPLOAD_RUN_WORKER="false")
    workers: list[Process] = []
    try:
        httpx.post(api.url + "/api/v2/smart_upload/index/", headers=auth(ADMIN_TOKEN))
        for n in (1, 2):
            (tmp_path / f"w{n}").mkdir()
            workers.append(
                start_worker(
                    ServiceConfig(database_url, dojo.url, SERVICE_TOKEN, tmp_path / f"w{n}"),
                    2,
                    SMART_UPLOAD_LOG_LEVEL="INFO",
                )
            )
        for worker in workers:
            poll(lambda w=worker: _started(w), timeout=30, what="a worker to start")

        answers = asyncio.run(_upload_all(api))
        assert [a.status_code for a in answers] == [202] * 20, [a.text for a in answers]
        finished = poll(lambda: _all_finished(api, 20), timeout=90, what="20 uploads")
        engagements = dojo_rows(dojo, "/api/v2/engagements/")
        tests = dojo_rows(dojo, "/api/v2/tests/")
        findings = dojo_rows(dojo, "/api/v2/findings/")
    finally:
        for process in (*workers, api, dojo):
            process.stop()

    assert {u["status"] for u in finished} == {"completed"}
    assert Counter(u["uploaded_by"]["username"] for u in finished) == dict.fromkeys(
        USER_TOKENS, UPLOADS_PER_USER
    )
    runs = [w.text().count('"worker.upload.start"') for w in workers]
    assert sum(runs) == 20 and min(runs) > 0, runs
    attempts = _rows(database_url, "SELECT attempts FROM uploads")
    assert [row["attempts"] for row in attempts] == [1] * 20

    kept = _rows(database_url, "SELECT upload_id, record_index FROM unassigned_findings")
    pushed = _rows(database_url, "SELECT upload_id, record_indexes, status FROM product_pushes")
    for upload in finished:
        records = upload["records"]
        in_list = {r["record_index"] for r in kept if r["upload_id"] == upload["id"]}
        shares = [set(p["record_indexes"]) for p in pushed if p["upload_id"] == upload["id"]]
        in_pushes = set().union(*shares)
        assert sum(len(s) for s in shares) == len(in_pushes), "a record in two pushes"
        assert not in_list & in_pushes, "a record both pushed and unassigned"
        assert len(in_list) == records["unassigned"] == upload["unassigned"]["total"]
        assert len(in_pushes) == records["routed"] == records["pushed"]
        assert (
            records["routed"] + records["unassigned"] + records["dropped_below_minimum_severity"]
            == records["parsed"]
            == 296
        )
    assert {p["status"] for p in pushed} == {"pushed"}

    assert sorted(e["product"] for e in engagements) == [1, 2]
    assert sorted(t["engagement"] for t in tests) == sorted(e["id"] for e in engagements)
    per_test = Counter((f["test"], f["title"], f["severity"]) for f in findings)
    assert set(per_test.values()) == {1}, "a reimport duplicated findings"
