"""Parsing of DefectDojo's recorded answers (2.58.4 and 3.2.0) and the import form."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from app.dojo.models import (
    DojoUser,
    EndpointRow,
    Engagement,
    ImportOptions,
    ImportResult,
    Page,
    Product,
    ProductType,
)
from app.dojo.models import (
    Test as DojoTest,
)
from tests.dojo.conftest import recording


def body(name: str, version: str = "3.2.0") -> Any:
    return recording(name, version)["body"]


class TestUser:
    def test_superuser_3_2(self) -> None:
        user = DojoUser.model_validate(body("user_profile")["user"])

        assert user == DojoUser(id=1, username="admin", is_staff=True, is_superuser=True)

    def test_regular_user_3_2(self) -> None:
        user = DojoUser.model_validate(body("user_profile_regular_user")["user"])

        assert user == DojoUser(id=2, username="alice", is_staff=False, is_superuser=False)

    def test_2_58_has_no_is_staff(self) -> None:
        user = DojoUser.model_validate(body("user_profile", "2.58.4")["user"])

        assert user == DojoUser(id=1, username="admin", is_staff=False, is_superuser=True)


class TestListPages:
    def test_products(self) -> None:
        page = Page[Product].model_validate(body("products_list"))

        assert page.count == 2
        assert [(p.id, p.name, p.prod_type) for p in page.results] == [
            (2, "E2E Nessus Product", 2),
            (1, "E2E Product", 2),
        ]

    def test_product_types(self) -> None:
        page = Page[ProductType].model_validate(body("product_types_list"))

        assert [(t.id, t.name) for t in page.results] == [
            (2, "E2E PT"),
            (1, "Research and Development"),
        ]

    def test_engagements_page_with_next(self) -> None:
        page = Page[Engagement].model_validate(body("engagements_list"))

        assert page.count == 3
        assert page.next == "http://127.0.0.1:8080/api/v2/engagements/?limit=2&offset=2"
        assert [(e.id, e.name, e.product) for e in page.results] == [
            (1, "E2E Eng", 1),
            (2, "Nessus Eng", 2),
        ]

    @pytest.mark.parametrize("version", ["3.2.0", "2.58.4"])
    def test_tests_in_engagement(self, version: str) -> None:
        page = Page[DojoTest].model_validate(body("tests_in_engagement", version))

        first = page.results[0]
        assert first.test_type_name == "Tenable Scan"
        assert first.scan_type == "Tenable Scan"
        assert first.is_of_scan_type("Tenable Scan")
        assert not first.is_of_scan_type("Nmap Scan")

    def test_untitled_test_has_null_title(self) -> None:
        page = Page[DojoTest].model_validate(body("tests_in_engagement"))

        assert [(t.id, t.title, t.test_type) for t in page.results] == [
            (10, "Tenable Scan", 72),
            (11, None, 236),
        ]

    def test_type_name_serves_when_scan_type_is_absent(self) -> None:
        row = {**body("tests_list")["results"][1]}
        del row["scan_type"]

        test = DojoTest.model_validate(row)

        assert test.test_type == body("test_types_list")["results"][0]["id"]
        assert test.is_of_scan_type(body("test_types_list")["results"][0]["name"])


class TestEndpointRows:
    def test_3_2_location_rows_blank_parts_are_none(self) -> None:
        rows = Page[EndpointRow].model_validate(body("endpoints_list")).results

        assert rows[0] == EndpointRow(
            id=4, host="mocha2005.mochahost.com", port=80, protocol="tcp", path=None, product=1
        )

    def test_3_2_null_port(self) -> None:
        rows = Page[EndpointRow].model_validate(body("endpoints_of_product")).results

        assert rows[0] == EndpointRow(
            id=122, host="qa3app09", port=None, protocol="tcp", path=None, product=3
        )

    def test_2_58_rows_with_nulls(self) -> None:
        rows = Page[EndpointRow].model_validate(body("endpoints_list", "2.58.4")).results

        assert rows[0] == EndpointRow(
            id=1, host="qa3app09", port=None, protocol="tcp", path=None, product=1
        )

    def test_2_58_created_endpoint_with_all_parts(self) -> None:
        row = EndpointRow.model_validate(body("endpoint_create_full", "2.58.4"))

        assert row == EndpointRow(
            id=106, host="app.example.com", port=8443, protocol="https", path="login", product=1
        )

    def test_2_58_created_endpoint_with_null_protocol(self) -> None:
        row = EndpointRow.model_validate(body("endpoint_create", "2.58.4"))

        assert row.protocol is None
        assert row.host == "recorded.example.com"


class TestImportResult:
    @pytest.mark.parametrize("version", ["3.2.0", "2.58.4"])
    def test_import(self, version: str) -> None:
        raw = body("import_scan_nessus", version)

        result = ImportResult.model_validate(raw)

        assert (result.test_id, result.engagement_id, result.product_id) == (
            raw["test_id"],
            raw["engagement_id"],
            raw["product_id"],
        )
        assert result.statistics == raw["statistics"]
        assert result.statistics["after"]["total"]["total"] == 32
        assert result.close_old_findings is False

    def test_3_2_reports_deduplication_and_title(self) -> None:
        result = ImportResult.model_validate(body("import_scan_nessus"))

        assert result.deduplication_complete is True
        assert result.test_title == "Tenable Scan"

    def test_2_58_lacks_deduplication_and_title(self) -> None:
        result = ImportResult.model_validate(body("import_scan_nessus", "2.58.4"))

        assert result.deduplication_complete is None
        assert result.test_title is None

    @pytest.mark.parametrize(
        ("name", "version"),
        [
            ("reimport_scan_nessus", "3.2.0"),
            ("reimport_scan_nessus", "2.58.4"),
            ("reimport_scan_nessus_no_close_old", "2.58.4"),
        ],
    )
    def test_reimport_has_before_delta_after(self, name: str, version: str) -> None:
        raw = body(name, version)

        result = ImportResult.model_validate(raw)

        assert result.test_id == raw["test"]
        assert set(result.statistics) == {"before", "delta", "after"}

    def test_test_id_from_legacy_test_field(self) -> None:
        raw = {k: v for k, v in body("import_scan_nessus").items() if k != "test_id"}

        assert ImportResult.model_validate(raw).test_id == raw["test"]


class TestImportOptions:
    def test_minimal_sends_close_old_findings_explicitly(self) -> None:
        fields = ImportOptions(scan_type="Tenable Scan").form_fields()

        assert fields == {
            "scan_type": "Tenable Scan",
            "minimum_severity": "Info",
            "close_old_findings": "false",
        }

    def test_all_options(self) -> None:
        options = ImportOptions(
            scan_type="Nmap Scan",
            scan_date=date(2026, 12, 4),
            minimum_severity="Medium",
            active=True,
            verified=False,
            tags=("weekly", "dmz zone"),
            version="1.2",
            branch_tag="main",
            commit_hash="abc",
            build_id="42",
            group_by="finding_title",
            close_old_findings=True,
            test_title="Weekly scan",
        )

        assert options.form_fields() == {
            "scan_type": "Nmap Scan",
            "minimum_severity": "Medium",
            "close_old_findings": "true",
            "scan_date": "2026-12-04",
            "active": "true",
            "verified": "false",
            "tags": ["weekly", "dmz zone"],
            "group_by": "finding_title",
            "version": "1.2",
            "branch_tag": "main",
            "commit_hash": "abc",
            "build_id": "42",
            "test_title": "Weekly scan",
        }

    def test_blank_texts_are_omitted(self) -> None:
        fields = ImportOptions(scan_type="Tenable Scan", version="", test_title="").form_fields()

        assert "version" not in fields
        assert "test_title" not in fields

    @pytest.mark.parametrize("tag", ["a,b", ""])
    def test_tags_dd_would_split_are_refused(self, tag: str) -> None:
        with pytest.raises(ValidationError):
            ImportOptions(scan_type="Tenable Scan", tags=(tag,))

    def test_unknown_severity_is_refused(self) -> None:
        with pytest.raises(ValidationError):
            ImportOptions.model_validate({"scan_type": "Tenable Scan", "minimum_severity": "Bad"})
