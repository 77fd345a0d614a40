"""The pages over plain HTTP (no browser): login and its cookie, CSRF, escaping of scan text,
the path prefix, and the forms' answers. These run wherever PostgreSQL does."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from app.services.keeping import stored_title
from tests.web.conftest import NESSUS_SEVEN_HOSTS, PASSWORD, Site, csrf_of
from tests.web.helpers import SCRIPT_TITLE, hostile_nessus, records_by_host


def session_cookie(response_headers: list[str]) -> str:
    [cookie] = [h for h in response_headers if h.startswith("smart_upload_session=")]
    return cookie


class TestLogin:
    async def test_a_page_without_a_session_redirects_to_login_and_back(self, site: Site) -> None:
        response = await site.client.get("/smart-upload/unassigned?severity=High")

        assert response.status_code == 303
        target = urlsplit(response.headers["location"])
        assert target.path == "/smart-upload/login"
        assert parse_qs(target.query) == {"next": ["/smart-upload/unassigned?severity=High"]}

    async def test_wrong_password_answers_401_with_defectdojos_message(self, site: Site) -> None:
        csrf = csrf_of((await site.client.get("/smart-upload/login")).text)

        response = await site.client.post(
            "/smart-upload/login",
            data={"csrf_token": csrf, "username": "alice", "password": "nope"},
        )

        assert response.status_code == 401
        assert "Unable to log in with provided credentials." in response.text
        assert (await site.client.get("/smart-upload/add")).status_code == 303

    async def test_the_cookie_is_signed_httponly_lax_and_scoped_and_hides_the_token(
        self, site: Site
    ) -> None:
        page = await site.client.get("/smart-upload/login")

        response = await site.client.post(
            "/smart-upload/login",
            data={"csrf_token": csrf_of(page.text), "username": "alice", "password": PASSWORD},
        )

        assert response.status_code == 303
        assert response.headers["location"] == "/smart-upload/add"
        cookie = session_cookie(response.headers.get_list("set-cookie"))
        flags = {part.strip().lower() for part in cookie.split(";")[1:]}
        assert {"httponly", "samesite=lax", "path=/smart-upload"} <= flags
        assert "secure" not in flags
        value = cookie.split(";")[0].split("=", 1)[1]
        payload = base64.b64decode(value.split(".")[0] + "==")
        assert site.alice.token.encode() not in payload
        assert (await site.client.get("/smart-upload/add")).status_code == 200

    @pytest.mark.parametrize("base_url", ["https://su.test"])
    async def test_the_cookie_is_secure_over_https(self, site: Site) -> None:
        page = await site.client.get("/smart-upload/login")

        response = await site.client.post(
            "/smart-upload/login",
            data={"csrf_token": csrf_of(page.text), "username": "alice", "password": PASSWORD},
        )

        cookie = session_cookie(response.headers.get_list("set-cookie"))
        assert "secure" in {part.strip().lower() for part in cookie.split(";")[1:]}

    @pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/api/v2/"])
    async def test_next_only_leads_to_pages_of_the_service(self, site: Site, target: str) -> None:
        page = await site.client.get("/smart-upload/login", params={"next": target})
        assert f'value="{target}"' not in page.text

        response = await site.client.post(
            "/smart-upload/login",
            data={
                "csrf_token": csrf_of(page.text),
                "username": "alice",
                "password": PASSWORD,
                "next": target,
            },
        )

        assert response.headers["location"] == "/smart-upload/add"

    async def test_logout_clears_the_session(self, site: Site) -> None:
        await site.login()
        csrf = await site.csrf()

        response = await site.client.post("/smart-upload/logout", data={"csrf_token": csrf})

        assert response.headers["location"] == "/smart-upload/login"
        assert (await site.client.get("/smart-upload/add")).status_code == 303


class TestCsrf:
    async def test_login_without_the_token_is_refused(self, site: Site) -> None:
        await site.client.get("/smart-upload/login")

        response = await site.client.post(
            "/smart-upload/login", data={"username": "alice", "password": PASSWORD}
        )

        assert response.status_code == 403
        assert "Form refused" in response.text
        assert (await site.client.get("/smart-upload/add")).status_code == 303

    async def test_an_action_with_a_wrong_token_changes_nothing(self, site: Site) -> None:
        await site.refresh_index()
        summary = await site.api_upload(NESSUS_SEVEN_HOSTS)
        await site.login()

        response = await site.client.post(
            "/smart-upload/unassigned/disregard",
            data={"csrf_token": "forged", "scope": "all", "upload": str(summary["id"])},
        )

        assert response.status_code == 403
        listing = await site.client.get("/smart-upload/unassigned")
        assert f"{summary['records']['unassigned']} finding(s)." in listing.text

    async def test_an_upload_without_the_token_stores_nothing(self, site: Site) -> None:
        await site.login()

        response = await site.client.post(
            "/smart-upload/add",
            files={"file": ("scan.nessus", NESSUS_SEVEN_HOSTS.read_bytes())},
        )

        assert response.status_code == 403
        uploads = await site.client.get("/smart-upload/uploads")
        assert "No uploads yet." in uploads.text


class TestEscaping:
    async def test_scan_text_and_file_names_are_shown_as_text(
        self, site: Site, tmp_path: Path
    ) -> None:
        await site.refresh_index()
        hostile = hostile_nessus(tmp_path).rename(tmp_path / "<img src=x onerror=alert(3)>.nessus")
        summary = await site.api_upload(hostile)
        await site.login()

        listing = await site.client.get("/smart-upload/unassigned")
        uploads = await site.client.get("/smart-upload/uploads")
        upload = await site.client.get(f"/smart-upload/uploads/{summary['id']}")

        title = stored_title(SCRIPT_TITLE)
        escaped = title.replace("<", "&lt;").replace(">", "&gt;")
        assert escaped in listing.text
        assert title not in listing.text
        for page in (uploads, upload):
            assert "&lt;img src=x onerror=alert(3)&gt;.nessus" in page.text
            assert "<img src=x" not in page.text
        assert "script-src 'self'" in listing.headers["content-security-policy"]


class TestAddFindings:
    async def test_a_scan_of_another_type_is_refused_with_the_expected_format(
        self, site: Site
    ) -> None:
        await site.login()

        response = await site.client.post(
            "/smart-upload/add",
            data={"csrf_token": await site.csrf(), "scan_type": "Nmap Scan"},
            files={"file": ("scan.nessus", NESSUS_SEVEN_HOSTS.read_bytes())},
        )

        assert response.status_code == 400
        assert "The scan was not imported" in response.text
        assert re.search(r"scan_type &#39;Nmap Scan&#39; expects", response.text)
        assert '<option value="Nmap Scan" selected>' in response.text

    async def test_a_broken_scan_is_refused_on_the_form_and_not_stored(self, site: Site) -> None:
        await site.login()
        cut = NESSUS_SEVEN_HOSTS.read_bytes()[: NESSUS_SEVEN_HOSTS.stat().st_size // 2]

        response = await site.client.post(
            "/smart-upload/add",
            data={"csrf_token": await site.csrf()},
            files={"file": ("cut.nessus", cut)},
        )

        assert response.status_code == 400
        assert "the scan could not be read" in response.text
        assert "No uploads yet." in (await site.client.get("/smart-upload/uploads")).text

    async def test_a_future_scan_date_is_refused(self, site: Site) -> None:
        await site.login()

        response = await site.client.post(
            "/smart-upload/add",
            data={"csrf_token": await site.csrf(), "scan_date": "2999-01-01"},
            files={"file": ("scan.nessus", NESSUS_SEVEN_HOSTS.read_bytes())},
        )

        assert response.status_code == 400
        assert "the date cannot be in the future" in response.text

    async def test_an_import_leads_to_its_summary(self, site: Site) -> None:
        payments = site.product("Payments", site.alice)
        site.dojo.add_endpoint(payments.id, "qa3app01")
        await site.refresh_index()
        await site.login()

        response = await site.client.post(
            "/smart-upload/add",
            data={
                "csrf_token": await site.csrf(),
                "tags": "weekly, infra",
                "minimum_severity": "Low",
                "test_title": "Weekly infra",
            },
            files={"file": ("scan.nessus", NESSUS_SEVEN_HOSTS.read_bytes())},
        )

        assert response.status_code == 303
        summary_page = await site.client.get(response.headers["location"])
        assert "Completed" in summary_page.text
        assert f'href="http://dojo.test/product/{payments.id}"' in summary_page.text
        [test] = site.dojo.tests.values()
        assert test.title == "Weekly infra"
        assert "data-poll" not in summary_page.text


class TestUnassignedList:
    async def test_pages_and_page_sizes_cover_every_matching_row(self, site: Site) -> None:
        await site.refresh_index()
        await site.api_upload(NESSUS_SEVEN_HOSTS)
        expected = records_by_host()["qa3app05"]
        await site.login()

        first = await site.client.get("/smart-upload/unassigned", params={"host": "qa3app05"})
        second = await site.client.get(
            "/smart-upload/unassigned", params={"host": "qa3app05", "page": "2"}
        )
        whole = await site.client.get(
            "/smart-upload/unassigned", params={"host": "qa3app05", "limit": "50"}
        )

        rows = [len(re.findall(r"data-row-select", page.text)) for page in (first, second, whole)]
        assert rows == [25, expected - 25, expected]
        assert "Page 2 of 2" in second.text
        assert 'href="/smart-upload/unassigned?host=qa3app05&amp;page=2"' in first.text

    async def test_a_bad_filter_is_explained_not_applied(self, site: Site) -> None:
        await site.login()

        response = await site.client.get("/smart-upload/unassigned", params={"severity": "Huge"})

        assert response.status_code == 200
        assert "The filter was not applied" in response.text


class TestUnassignedActions:
    async def test_an_action_without_a_selection_says_so(self, site: Site) -> None:
        await site.login()

        response = await site.client.post(
            "/smart-upload/unassigned/disregard",
            data={"csrf_token": await site.csrf("/unassigned"), "scope": "ids"},
            follow_redirects=True,
        )

        assert "Nothing was disregarded." in response.text
        assert "Select at least one finding first." in response.text

    async def test_a_typed_product_type_is_created(self, site: Site) -> None:
        await site.refresh_index()
        summary = await site.api_upload(NESSUS_SEVEN_HOSTS, user=site.admin)
        await site.login(site.admin)

        response = await site.client.post(
            "/smart-upload/unassigned/create-product",
            data={
                "csrf_token": await site.csrf("/unassigned"),
                "scope": "all",
                "host": "qa3app09",
                "upload": str(summary["id"]),
                "product_name": "Kiosks",
                "product_type": "",
                "product_type_name": "Retail",
                "back": "host=qa3app09",
            },
            follow_redirects=True,
        )

        assert "Assigned" in response.text
        assert "No unassigned finding matches the filter." in response.text
        [kiosks] = [p for p in site.dojo.products.values() if p.name == "Kiosks"]
        assert site.dojo.product_types[kiosks.prod_type_id].name == "Retail"


class TestRules:
    async def test_a_glob_the_api_refuses_shows_its_message(self, site: Site) -> None:
        payments = site.product("Payments", site.alice)
        await site.login()
        api = await site.client.post(
            "/api/v2/smart_upload/rules/",
            headers={"Authorization": f"Token {site.alice.token}"},
            json={"kind": "hostname_glob", "pattern": "web..example.com", "product": payments.id},
        )
        assert api.status_code == 400

        response = await site.client.post(
            "/smart-upload/rules",
            data={
                "csrf_token": await site.csrf("/rules"),
                "kind": "hostname_glob",
                "pattern": "web..example.com",
                "product": str(payments.id),
            },
        )

        assert response.status_code == 400
        assert api.json()["detail"].replace("'", "&#39;") in response.text

    async def test_testing_an_unknown_host_explains_no_match(self, site: Site) -> None:
        await site.login()

        response = await site.client.get(
            "/smart-upload/rules", params={"host": "nowhere.example.com"}
        )

        assert "No product: its findings would be unassigned." in response.text
        assert "no assignment, endpoint or rule matches nowhere.example.com" in response.text


class TestBehindAPrefix:
    @pytest.mark.parametrize("root_path", ["/dojo-tools"])
    async def test_links_forms_and_redirects_carry_the_prefix(self, site: Site) -> None:
        anonymous = await site.client.get("/dojo-tools/smart-upload/add")
        assert anonymous.headers["location"].startswith("/dojo-tools/smart-upload/login?")

        await site.login()
        page = await site.client.get("/dojo-tools/smart-upload/add")

        links = re.findall(r'(?:href|action|src)="(/[^"]*)"', page.text)
        assert links and all(link.startswith("/dojo-tools/smart-upload/") for link in links)
        stylesheet = next(link for link in links if "app.css" in link)
        assert (await site.client.get(stylesheet)).status_code == 200
