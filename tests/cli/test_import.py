"""`smart-upload import` against a stand-in service on loopback: the request it sends, the
summary it prints, following a 202, and its exit codes (documented in app/cli.py)."""

from __future__ import annotations

import hashlib
import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app import cli
from tests.cli.standin import DESIGN_SUMMARY, StandIn, all_routed, serve_asgi, summary

API_KEY = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture(scope="module")
def server() -> Iterator[StandIn]:
    stand_in = StandIn()
    with serve_asgi(stand_in.app()) as base_url:
        stand_in.base_url = base_url
        yield stand_in


@pytest.fixture
def service(server: StandIn, monkeypatch: pytest.MonkeyPatch) -> StandIn:
    server.reset()
    monkeypatch.setenv("SMART_UPLOAD_URL", server.base_url)
    monkeypatch.setenv("DD_API_KEY", API_KEY)
    return server


@pytest.fixture
def scan(tmp_path: Path) -> Path:
    """A file of several of httpx's 64 KiB upload chunks, so streaming is exercised."""
    path = tmp_path / "weekly.nessus"
    path.write_bytes(os.urandom(300_000))
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


class TestRequest:
    def test_streams_the_file_with_the_callers_key(
        self, service: StandIn, scan: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, _, _ = run(capsys, "import", str(scan), "--scan-type", "Tenable Scan")

        assert code == 0
        [received] = service.posts
        assert received.headers["authorization"] == f"Token {API_KEY}"
        assert received.file_name == "weekly.nessus"
        assert received.file_sha256 == hashlib.sha256(scan.read_bytes()).hexdigest()
        # Only what was given is sent: the service applies its own defaults to the rest.
        assert received.fields == {"scan_type": ["Tenable Scan"]}

    def test_sends_every_option_given(
        self, service: StandIn, scan: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, _, _ = run(
            capsys, "import", str(scan), "--scan-type", "Nmap Scan",
            "--engagement-name", "Weekly", "--test-title", "DMZ", "--minimum-severity", "High",
            "--tags", "ci", "nightly", "--tags", "dmz", "--scan-date", "2026-12-04",
            "--close-old-findings", "--no-verified", "--commit-hash", "abc123",
            "--branch-tag", "main", "--build-id", "77", "--version", "1.2",
            "--idempotency-key", "pipeline-77",
        )  # fmt: skip

        assert code == 0
        [received] = service.posts
        assert received.fields == {
            "scan_type": ["Nmap Scan"],
            "engagement_name": ["Weekly"],
            "test_title": ["DMZ"],
            "minimum_severity": ["High"],
            "tags": ["ci", "nightly", "dmz"],
            "scan_date": ["2026-12-04"],
            "close_old_findings": ["true"],
            "verified": ["false"],
            "commit_hash": ["abc123"],
            "branch_tag": ["main"],
            "build_id": ["77"],
            "version": ["1.2"],
        }
        assert received.headers["idempotency-key"] == "pipeline-77"


class TestOutput:
    def test_table_shows_products_and_unassigned_by_reason(
        self, service: StandIn, scan: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, out, _ = run(capsys, "import", str(scan))

        assert code == 0
        assert "Upload 17: completed — Tenable Scan, weekly.nessus" in out
        assert "296 parsed, 120 routed, 176 unassigned, 0 below the minimum severity" in out
        product_row = next(line for line in out.splitlines() if "Payments" in line)
        cells = [cell.strip() for cell in product_row.strip("│┃ ").split("│")]
        assert cells[:8] == ["Payments", "4", "9", "31", "reimport", "pushed", "84", "2"]
        reasons = {
            cells[0]: cells[1]
            for line in out.splitlines()
            if (cells := [c.strip() for c in line.strip("│ ").split("│")])[0]
            in ("no_match", "ambiguous")
        }
        assert reasons == {"no_match": "130", "ambiguous": "46"}
        link = f"{service.base_url}/api/v2/smart_upload/unassigned_findings/?upload=17"
        assert f"Review them at {link}" in out

    def test_json_is_the_services_summary(
        self, service: StandIn, scan: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, out, _ = run(capsys, "import", str(scan), "--json")

        assert code == 0
        assert json.loads(out) == DESIGN_SUMMARY


class TestFailOn:
    @pytest.mark.parametrize(
        ("answer", "fail_on", "expected", "said"),
        [
            (
                DESIGN_SUMMARY,
                "unassigned",
                1,
                "176 findings unassigned (ambiguous 46, no_match 130)",
            ),
            (all_routed(), "unassigned", 0, None),
            (
                summary(unassigned={"total": 3, "by_reason": {"forbidden": 3}, "url": None}),
                "forbidden",
                1,
                "3 findings for products you may not import into",
            ),
            (DESIGN_SUMMARY, "forbidden", 0, None),
            (
                summary(
                    status="completed_with_errors",
                    products=[dict(DESIGN_SUMMARY["products"][0], status="failed", error="500")],
                ),
                "push_failed",
                1,
                "the push to Payments failed",
            ),
            (DESIGN_SUMMARY, "push_failed", 0, None),
        ],
    )  # fmt: skip
    def test_exits_1_when_the_condition_holds(
        self,
        service: StandIn,
        scan: Path,
        capsys: pytest.CaptureFixture[str],
        answer: dict[str, object],
        fail_on: str,
        expected: int,
        said: str | None,
    ) -> None:
        service.post = (201, answer, {})

        code, _, err = run(capsys, "import", str(scan), "--fail-on", fail_on)

        assert code == expected
        assert (said in err) if said else err == ""

    def test_conditions_are_only_checked_when_asked(
        self, service: StandIn, scan: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        service.post = (201, summary(status="completed_with_errors"), {})

        assert run(capsys, "import", str(scan))[0] == 0
        assert run(capsys, "import", str(scan), "--fail-on", "forbidden")[0] == 0
        code, _, err = run(
            capsys, "import", str(scan), "--fail-on", "forbidden", "--fail-on", "push_failed"
        )
        assert code == 1
        assert "push to some products failed" in err

    def test_needs_the_finished_upload(
        self, service: StandIn, scan: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, _, err = run(capsys, "import", str(scan), "--no-wait", "--fail-on", "unassigned")

        assert code == 2
        assert "--no-wait" in err
        assert service.posts == []


class TestAccepted:
    """A 202: the upload runs in the background and the CLI follows its Location."""

    LOCATION = "/api/v2/smart_upload/uploads/17"

    def accept(self, service: StandIn) -> None:
        service.post = (202, summary(status="queued"), {"Location": self.LOCATION})

    def test_polls_until_done(
        self, service: StandIn, scan: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        self.accept(service)
        service.polls = [
            (200, summary(status="processing"), {"Retry-After": "0"}),
            (200, summary(status="processing"), {"Retry-After": "0"}),
            (200, DESIGN_SUMMARY, {}),
        ]

        code, out, _ = run(capsys, "import", str(scan), "--json")

        assert code == 0
        assert json.loads(out) == DESIGN_SUMMARY
        assert len(service.gets) == 3
        assert all(g["authorization"] == f"Token {API_KEY}" for g in service.gets)

    def test_a_transient_failure_while_polling_is_retried(
        self, service: StandIn, scan: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        self.accept(service)
        service.polls = [
            (503, {"detail": "restarting"}, {"Retry-After": "0"}),
            (200, all_routed(), {}),
        ]

        code, _, _ = run(capsys, "import", str(scan), "--fail-on", "unassigned")

        assert code == 0
        assert len(service.gets) == 2

    def test_an_upload_that_failed_exits_3(
        self, service: StandIn, scan: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        self.accept(service)
        service.polls = [(200, summary(status="failed", error="not a Tenable file"), {})]

        code, _, err = run(capsys, "import", str(scan))

        assert code == 3
        assert "upload 17 failed: not a Tenable file" in err

    def test_gives_up_at_the_timeout(
        self, service: StandIn, scan: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        self.accept(service)
        # The next poll (30 s away at most) would come after the deadline: no waiting.
        service.polls = [(200, summary(status="processing"), {"Retry-After": "600"})]

        code, _, err = run(capsys, "import", str(scan), "--timeout", "20")

        assert code == 3
        assert f"still processing after 20 s; follow it at {service.base_url}{self.LOCATION}" in err
        assert len(service.gets) == 1

    def test_no_wait_returns_once_accepted(
        self, service: StandIn, scan: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        self.accept(service)

        code, out, _ = run(capsys, "import", str(scan), "--no-wait")

        assert code == 0
        assert service.posts[0].fields["wait"] == ["false"]
        assert service.gets == []
        assert f"Follow it at {service.base_url}{self.LOCATION}" in out


class TestErrors:
    @pytest.mark.parametrize(
        ("status", "expected"), [(400, 2), (401, 2), (403, 2), (413, 2), (429, 3), (502, 3)]
    )
    def test_answer_status_maps_to_exit_code(
        self,
        service: StandIn,
        scan: Path,
        capsys: pytest.CaptureFixture[str],
        status: int,
        expected: int,
    ) -> None:
        service.post = (status, {"detail": "the service says why"}, {})

        code, out, err = run(capsys, "import", str(scan))

        assert code == expected
        assert f"({status}): the service says why" in err
        assert out == ""

    def test_unreachable_service_exits_3(
        self, scan: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        with socket.create_server(("127.0.0.1", 0)) as closed:
            port = closed.getsockname()[1]
        monkeypatch.setenv("DD_API_KEY", API_KEY)

        code, _, err = run(capsys, "import", str(scan), "--url", f"http://127.0.0.1:{port}")

        assert code == 3
        assert "cannot reach" in err

    @pytest.mark.parametrize("unset", ["SMART_UPLOAD_URL", "DD_API_KEY"])
    def test_missing_configuration_exits_2(
        self,
        service: StandIn,
        scan: Path,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
        unset: str,
    ) -> None:
        monkeypatch.delenv(unset)

        code, _, err = run(capsys, "import", str(scan))

        assert code == 2
        assert unset in err
        assert service.posts == []

    def test_missing_file_exits_2(
        self, service: StandIn, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, _, err = run(capsys, "import", str(tmp_path / "absent.nessus"))

        assert code == 2
        assert "absent.nessus: no such file" in err

    def test_bad_option_is_a_usage_error(
        self, service: StandIn, scan: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        with pytest.raises(SystemExit) as exit_:
            cli.main(["import", str(scan), "--minimum-severity", "Severe"])

        assert exit_.value.code == 2


def test_progress_file_reports_what_httpx_has_sent(service: StandIn, scan: Path) -> None:
    """The progress bar's file, posted by httpx as the CLI does: positions climb to the size
    and the service receives the file unchanged."""
    positions: list[int] = []
    with (
        cli._ProgressFile(scan, positions.append) as stream,
        httpx.Client() as client,
    ):
        files = {"file": (scan.name, stream, "application/octet-stream")}
        response = client.post(f"{service.base_url}/api/v2/smart_upload_import/", files=files)

    assert response.status_code == 201
    assert service.posts[0].file_sha256 == hashlib.sha256(scan.read_bytes()).hexdigest()
    size = scan.stat().st_size
    assert positions[-1] == size
    assert positions == sorted(positions)
    assert len(positions) > size // (64 * 1024)
