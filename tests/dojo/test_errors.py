"""Mapping of DefectDojo's answers to the client's error classes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from app.dojo.errors import (
    DojoAuthenticationFailed,
    DojoError,
    DojoNotFound,
    DojoPermissionDenied,
    DojoRejected,
    DojoUnavailable,
    error_from_response,
    error_from_transport,
    parse_retry_after,
)
from tests.dojo.conftest import recording, replay


class TestRecordedErrors:
    """Every error DD was recorded giving, mapped to its class with DD's own words."""

    @pytest.mark.parametrize(
        ("name", "version", "error_class", "message"),
        [
            ("unauthorized_no_token", "3.2.0", DojoAuthenticationFailed,
             "Authentication credentials were not provided."),
            ("unauthorized_no_token", "2.58.4", DojoAuthenticationFailed,
             "Authentication credentials were not provided."),
            ("unauthorized_bad_token", "3.2.0", DojoAuthenticationFailed, "Invalid token."),
            ("unauthorized_bad_token", "2.58.4", DojoAuthenticationFailed, "Invalid token."),
            ("import_scan_forbidden_regular_user", "3.2.0", DojoPermissionDenied,
             "You do not have permission to perform this action."),
            ("endpoint_write_forbidden_v3", "3.2.0", DojoPermissionDenied,
             "Writes to this endpoint are deprecated when V3_FEATURE_LOCATIONS is enabled"),
            ("product_not_found", "3.2.0", DojoNotFound, "No Product matches the given query."),
            ("import_scan_bad_scan_type", "3.2.0", DojoRejected,
             'scan_type: "No Such Scan" is not a valid choice.'),
            ("import_scan_bad_scan_type", "2.58.4", DojoRejected,
             'scan_type: "No Such Scan" is not a valid choice.'),
            ("product_create_duplicate_name", "3.2.0", DojoRejected,
             "name: product with this name already exists."),
            ("api_token_auth_bad_password", "3.2.0", DojoRejected,
             "Unable to log in with provided credentials."),
            ("import_scan_malformed_file", "3.2.0", DojoUnavailable,
             "Internal server error, check logs for details"),
        ],
    )  # fmt: skip
    def test_maps_class_and_message(
        self, name: str, version: str, error_class: type[DojoError], message: str
    ) -> None:
        error = error_from_response(replay(name, version), token="secret-token")

        assert type(error) is error_class
        assert error.message == message
        assert error.status_code == recording(name, version)["status"]

    def test_field_errors_keep_dd_fields_without_advert(self) -> None:
        error = error_from_response(replay("import_scan_bad_scan_type"), token=None)

        assert error.field_errors == {"scan_type": ['"No Such Scan" is not a valid choice.']}


class TestStatusMapping:
    @pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
    def test_overload_and_server_errors_are_unavailable(self, status: int) -> None:
        error = error_from_response(httpx.Response(status, text="<html>busy</html>"), token=None)

        assert isinstance(error, DojoUnavailable)
        assert error.status_code == status

    def test_401_is_authentication_failure(self) -> None:
        error = error_from_response(httpx.Response(401, json={"detail": "x"}), token=None)

        assert isinstance(error, DojoAuthenticationFailed)

    def test_unknown_4xx_is_rejected(self) -> None:
        error = error_from_response(httpx.Response(409, json={"detail": "busy"}), token=None)

        assert isinstance(error, DojoRejected)
        assert error.message == "busy"

    def test_body_without_json_names_the_status(self) -> None:
        error = error_from_response(httpx.Response(502, text="<html>Bad</html>"), token=None)

        assert error.message == "HTTP 502 Bad Gateway"

    def test_message_falls_back_to_dd_message_key(self) -> None:
        error = error_from_response(httpx.Response(400, json={"message": "broken"}), token=None)

        assert error.message == "broken"

    def test_nested_field_errors_are_flattened(self) -> None:
        body = {"tags": {"0": ["Not a string."]}, "pro": ["advert"]}

        error = error_from_response(httpx.Response(400, json=body), token=None)

        assert error.message == "tags: 0: Not a string."

    def test_token_echoed_in_body_is_masked(self) -> None:
        body = {"detail": "Token abc123-secret is not allowed"}

        error = error_from_response(httpx.Response(400, json=body), token="abc123-secret")

        assert "abc123-secret" not in str(error)
        assert error.message == "Token <token> is not allowed"


class TestTransportErrors:
    def test_timeout(self) -> None:
        error = error_from_transport(httpx.ReadTimeout("read timed out on http://dojo/x"))

        assert isinstance(error, DojoUnavailable)
        assert error.status_code is None
        assert error.message == "DefectDojo timed out (ReadTimeout)"

    def test_connect_error(self) -> None:
        error = error_from_transport(httpx.ConnectError("refused"))

        assert error.message == "DefectDojo could not be reached (ConnectError)"


class TestRetryAfter:
    def test_seconds(self) -> None:
        assert parse_retry_after(httpx.Headers({"Retry-After": "7"})) == 7.0

    def test_http_date(self) -> None:
        when = datetime.now(UTC) + timedelta(seconds=120)
        headers = httpx.Headers({"Retry-After": format_datetime(when, usegmt=True)})

        seconds = parse_retry_after(headers)

        assert seconds is not None
        assert 100 < seconds <= 120

    def test_date_in_the_past_means_now(self) -> None:
        headers = httpx.Headers({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})

        assert parse_retry_after(headers) == 0.0

    @pytest.mark.parametrize("value", ["soon", ""])
    def test_unreadable_is_ignored(self, value: str) -> None:
        assert parse_retry_after(httpx.Headers({"Retry-After": value})) is None

    def test_carried_by_429(self) -> None:
        response = httpx.Response(429, headers={"Retry-After": "3"}, json={"detail": "slow"})

        error = error_from_response(response, token=None)

        assert isinstance(error, DojoUnavailable)
        assert error.retry_after == 3.0
