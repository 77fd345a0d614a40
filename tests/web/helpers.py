"""Scenario pieces shared by the page tests: the sample scan's records, seeded products,
a hostile scan, and logging in through the form."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from app.formats.registry import FORMATS
from tests.web.conftest import NESSUS_SEVEN_HOSTS, PASSWORD, Site

SCRIPT_TITLE = "<script>alert(1)</script>"


def records_by_host() -> Counter[str]:
    with NESSUS_SEVEN_HOSTS.open("rb") as source:
        return Counter(r.host.dd_host or "" for r in FORMATS["tenable-xml"].records(source))


async def seed_products(site: Site) -> tuple[int, int]:
    """Payments owns qa3app01-02, Build qa3app03, both qa3app04 (ambiguous)."""
    payments = site.product("Payments", site.alice)
    build = site.product("Build", site.alice)
    for host in ("qa3app01", "qa3app02", "qa3app04"):
        site.dojo.add_endpoint(payments.id, host)
    for host in ("qa3app03", "qa3app04"):
        site.dojo.add_endpoint(build.id, host)
    await site.refresh_index()
    return payments.id, build.id


async def log_in(page: Any, username: str = "alice", password: str = PASSWORD) -> None:
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Log in").click()


def hostile_nessus(tmp_path: Path) -> Path:
    """A one-finding Tenable report whose plugin name is a script tag."""
    path = tmp_path / "hostile.nessus"
    path.write_text(
        '<?xml version="1.0" ?>\n<NessusClientData_v2><Report name="hostile">'
        '<ReportHost name="web01.example.com"><HostProperties>'
        '<tag name="host-ip">10.9.9.9</tag><tag name="host-fqdn">web01.example.com</tag>'
        "</HostProperties>"
        '<ReportItem port="443" svc_name="www" protocol="tcp" severity="2" pluginID="90001" '
        'pluginName="&lt;script&gt;alert(1)&lt;/script&gt;" pluginFamily="Web">'
        "<description>&lt;img src=x onerror=alert(2)&gt;</description>"
        "</ReportItem></ReportHost></Report></NessusClientData_v2>\n",
        encoding="utf-8",
    )
    return path


async def listed_ids(site: Site) -> set[int]:
    listed = await site.client.get(
        "/api/v2/smart_upload/unassigned_findings/",
        headers={"Authorization": f"Token {site.alice.token}"},
        params={"limit": 1000},
    )
    return {item["id"] for item in listed.json()["results"]}
