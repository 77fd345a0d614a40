"""The unassigned list's answer: the documented model's JSON byte for byte (it is built
without a model per finding), its filters, and its counts."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from app.api.unassigned import UnassignedPage, page_json
from app.schemas import Candidate, HostOut, UnassignedFindingOut
from tests.e2e.conftest import NESSUS_SEVEN_HOSTS, World

LIST = "/api/v2/smart_upload/unassigned_findings/"


def _row(**changes: Any) -> tuple[Any, ...]:
    """A row as the store gives it: LIST_COLUMNS in order (host_display last)."""
    values: dict[str, Any] = {
        "id": 5521,
        "upload_id": 17,
        "title": "SSL Self-Signed Certificate",
        "severity": "Medium",
        "scan_type": "Tenable Scan",
        "date": dt.date(2026, 12, 4),
        "reporter": "alice",
        "ip": "10.0.9.12",
        "fqdn": "build07.corp.example.com",
        "netbios": "BUILD07",
        "mac": None,
        "port": 443,
        "protocol": "tcp",
        "reason": "ambiguous",
        "candidates": [
            {"product_id": 4, "product_name": "Payments"},
            {"product_id": 7, "product_name": "Build"},
        ],
        "explanation": "host build07.corp.example.com is an endpoint of 2 products",
        "vulnerability_ids": ["CVE-2024-1234"],
        "scanner_id": "57582",
        "error": None,
        "host_display": "build07.corp.example.com",
    }
    values.update(changes)
    return tuple(values.values())


def _model(rows: list[tuple[Any, ...]], **page: Any) -> UnassignedPage:
    results = [
        UnassignedFindingOut(
            id=r[0], upload_id=r[1], title=r[2], severity=r[3], scan_type=r[4], date=r[5],
            reporter=r[6], host=HostOut(ip=r[7], fqdn=r[8], netbios=r[9], mac=r[10]),
            port=r[11], protocol=r[12], reason=r[13],
            candidates=[Candidate.model_validate(c) for c in r[14]], explanation=r[15],
            vulnerability_ids=r[16], scanner_id=r[17], error=r[18],
        )
        for r in rows
    ]  # fmt: skip
    return UnassignedPage(results=results, **page)


class TestPageJson:
    @pytest.mark.parametrize(
        "row",
        [
            _row(),
            _row(date=None, port=None, protocol=None, candidates=[], vulnerability_ids=[]),
            _row(title='Quotes " and \\ back\nslash\t\x01\x1f\x7f \u2028 é 😀 </script>'),
            _row(ip=None, fqdn=None, netbios=None, mac="00:11:22:33:44:55", error="push failed"),
        ],
        ids=["typical", "empty", "escapes", "mac only"],
    )
    def test_is_the_documented_models_json(self, row: tuple[Any, ...]) -> None:
        page = {"count": 30_000, "next": "http://su.test/x/?limit=25&offset=25&q=a%20b"}
        expected = _model([row], previous=None, count_is_estimate=True, **page)

        body = page_json(
            count=page["count"], following=page["next"], preceding=None, rows=[row], estimated=True
        )

        assert body == expected.model_dump_json().encode()

    def test_empty_page(self) -> None:
        expected = _model([], count=0, next=None, previous=None, count_is_estimate=False)
        body = page_json(count=0, following=None, preceding=None, rows=[], estimated=False)
        assert body == expected.model_dump_json().encode()


async def _upload_unrouted(world: World) -> None:
    await world.refresh_index()
    response = await world.upload(NESSUS_SEVEN_HOSTS)
    assert response.status_code == 201, response.text


class TestListOverHttp:
    async def test_answer_reads_back_as_the_model_unchanged(self, world: World) -> None:
        await _upload_unrouted(world)
        response = await world.client.get(
            LIST, params={"limit": 5}, headers=world.auth(world.alice)
        )

        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        page = UnassignedPage.model_validate_json(response.content)
        assert page.model_dump_json().encode() == response.content
        assert page.count > 5 and len(page.results) == 5 and page.next is not None

    async def test_host_is_a_substring_of_any_identifier(self, world: World) -> None:
        await _upload_unrouted(world)
        everything = await world.unassigned()
        hosts = {item["host"]["fqdn"] for item in everything["results"]}
        assert "qa3app01" in hosts

        listed = await world.unassigned(host="A3APP0")  # case-insensitive, inside the name

        assert listed["count"] == len(listed["results"]) == everything["count"]
        assert not listed["count_is_estimate"]
        only = await world.unassigned(host="qa3app01")
        assert {item["host"]["fqdn"] for item in only["results"]} == {"qa3app01"}
        # the identifiers are searched together but matched one by one: no match across two
        assert (await world.unassigned(host="qa3app01 10."))["count"] == 0

    async def test_substring_pages_and_past_the_end(self, world: World) -> None:
        await _upload_unrouted(world)
        total = (await world.unassigned(host="qa3app"))["count"]

        first = await world.unassigned(host="qa3app", limit=2)
        past = await world.unassigned(host="qa3app", limit=2, offset=total + 10)

        assert first["count"] == total and len(first["results"]) == 2
        assert first["next"] is not None
        assert past["count"] == total and past["results"] == [] and past["next"] is None

    async def test_keyword_searches_title_host_and_description(self, world: World) -> None:
        await _upload_unrouted(world)
        everything = (await world.unassigned())["results"]
        title = everything[0]["title"]

        listed = await world.unassigned(q=title.upper())

        assert listed["count"] == len(listed["results"]) > 0
        assert everything[0]["id"] in {item["id"] for item in listed["results"]}
        assert (await world.unassigned(q="no such words anywhere"))["count"] == 0
