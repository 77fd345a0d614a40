"""import-scan and reimport-scan: form fields as DD's serializers read them, streamed file."""

from __future__ import annotations

import io
from datetime import date

import httpx
import pytest

from app.dojo.errors import DojoPermissionDenied, DojoRejected, DojoUnavailable
from app.dojo.models import ImportOptions
from tests.dojo.conftest import ClientFactory, Server, form_fields, form_parts, recording, replay

IMPORT = "/api/v2/import-scan/"
REIMPORT = "/api/v2/reimport-scan/"


class ChunkRecordingFile(io.BytesIO):
    """A binary file that remembers how much each read asked for."""

    def __init__(self, content: bytes) -> None:
        super().__init__(content)
        self.read_sizes: list[int | None] = []

    def read(self, size: int | None = -1, /) -> bytes:
        self.read_sizes.append(size)
        return super().read(size)


def uploaded_file(request: httpx.Request) -> tuple[str | None, bytes]:
    [part] = [p for p in form_parts(request) if p.get_filename() is not None]
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    assert part.get_param("name", header="content-disposition") == "file"
    return part.get_filename(), payload


class TestImportScan:
    async def test_sends_options_engagement_and_file(self, make_client: ClientFactory) -> None:
        server = Server().on("POST", IMPORT, replay("import_scan_nessus"))
        options = ImportOptions(
            scan_type="Tenable Scan",
            scan_date=date(2026, 12, 1),
            verified=True,
            tags=("smart-upload", "weekly"),
            test_title="Weekly scan",
        )

        result = await make_client(server).import_scan(
            io.BytesIO(b"<NessusClientData_v2/>"), "weekly.nessus", options, 4
        )

        assert (result.test_id, result.engagement_id, result.product_id) == (10, 4, 3)
        assert form_fields(server.requests[0]) == {
            "scan_type": ["Tenable Scan"],
            "minimum_severity": ["Info"],
            "close_old_findings": ["false"],
            "scan_date": ["2026-12-01"],
            "verified": ["true"],
            "tags": ["smart-upload", "weekly"],
            "test_title": ["Weekly scan"],
            "engagement": ["4"],
        }
        assert uploaded_file(server.requests[0]) == ("weekly.nessus", b"<NessusClientData_v2/>")

    async def test_streams_the_file_in_chunks_from_its_start(
        self, make_client: ClientFactory
    ) -> None:
        content = bytes(range(256)) * 2048  # 512 KiB
        scan = ChunkRecordingFile(content)
        scan.seek(1000)  # left mid-file by an earlier attempt
        server = Server().on("POST", IMPORT, replay("import_scan_nessus"))

        await make_client(server).import_scan(
            scan, "big.nessus", ImportOptions(scan_type="Tenable Scan"), 4
        )

        assert uploaded_file(server.requests[0])[1] == content
        assert all(size is not None and 0 < size < len(content) for size in scan.read_sizes)
        assert server.requests[0].headers["content-length"] == str(len(server.requests[0].content))

    async def test_server_error_is_not_retried(self, make_client: ClientFactory) -> None:
        server = Server().on("POST", IMPORT, replay("import_scan_malformed_file"))

        with pytest.raises(DojoUnavailable, match="Internal server error"):
            await make_client(server).import_scan(
                io.BytesIO(b"garbage"), "bad.nessus", ImportOptions(scan_type="Tenable Scan"), 4
            )

        assert len(server.requests) == 1

    async def test_timeout_is_not_retried(self, make_client: ClientFactory) -> None:
        server = Server().on("POST", IMPORT, httpx.ReadTimeout("slow"))

        with pytest.raises(DojoUnavailable, match="timed out"):
            await make_client(server).import_scan(
                io.BytesIO(b"<x/>"), "s.nessus", ImportOptions(scan_type="Tenable Scan"), 4
            )

        assert len(server.requests) == 1

    @pytest.mark.parametrize("version", ["3.2.0", "2.58.4"])
    async def test_bad_scan_type(self, make_client: ClientFactory, version: str) -> None:
        server = Server().on("POST", IMPORT, replay("import_scan_bad_scan_type", version))

        with pytest.raises(DojoRejected) as caught:
            await make_client(server).import_scan(
                io.BytesIO(b"x"), "s.xml", ImportOptions(scan_type="No Such Scan"), 4
            )

        assert caught.value.field_errors == {"scan_type": ['"No Such Scan" is not a valid choice.']}

    async def test_forbidden(self, make_client: ClientFactory) -> None:
        server = Server().on("POST", IMPORT, replay("import_scan_forbidden_regular_user"))

        with pytest.raises(DojoPermissionDenied):
            await make_client(server).import_scan(
                io.BytesIO(b"x"), "s.nessus", ImportOptions(scan_type="Tenable Scan"), 4
            )


class TestReimportScan:
    @pytest.mark.parametrize(
        ("name", "version"),
        [
            ("reimport_scan_nessus", "3.2.0"),
            ("reimport_scan_nessus", "2.58.4"),
            ("reimport_scan_nessus_no_close_old", "2.58.4"),
        ],
    )
    async def test_sends_test_and_explicit_close_old_findings(
        self, make_client: ClientFactory, name: str, version: str
    ) -> None:
        recorded = recording(name, version)["body"]
        server = Server().on("POST", REIMPORT, replay(name, version))

        result = await make_client(server).reimport_scan(
            io.BytesIO(b"<x/>"), "s.nessus", ImportOptions(scan_type="Tenable Scan"), 10
        )

        assert result.test_id == recorded["test_id"]
        assert result.statistics["delta"] == recorded["statistics"]["delta"]
        fields = form_fields(server.requests[0])
        assert fields["test"] == ["10"]
        assert fields["close_old_findings"] == ["false"]
        assert "engagement" not in fields

    async def test_close_old_findings_true_when_asked(self, make_client: ClientFactory) -> None:
        server = Server().on("POST", REIMPORT, replay("reimport_scan_nessus"))
        options = ImportOptions(scan_type="Tenable Scan", close_old_findings=True)

        await make_client(server).reimport_scan(io.BytesIO(b"<x/>"), "s.nessus", options, 10)

        assert form_fields(server.requests[0])["close_old_findings"] == ["true"]

    async def test_rewinds_the_file(self, make_client: ClientFactory) -> None:
        scan = io.BytesIO(b"<NessusClientData_v2>whole</NessusClientData_v2>")
        scan.read()
        server = Server().on("POST", REIMPORT, replay("reimport_scan_nessus"))

        await make_client(server).reimport_scan(
            scan, "s.nessus", ImportOptions(scan_type="Tenable Scan"), 10
        )

        assert uploaded_file(server.requests[0])[1] == scan.getvalue()
