"""Generic Findings Import JSON: records, subsets and hostile input.

Oracle: DefectDojo's unittests/tools/test_generic_parser.py — generic_report1.json gives
two findings without endpoints (test_parse_json); generic_report3.json gives three
findings, the first on host exemple.com, the second on urlfiltering.paloaltonetworks.com
port 80 (http) and 2345 (https), the third without endpoints (test_parse_json3).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from app.formats.base import ScanFormatError
from app.formats.generic_json import FORMAT
from tests.formats.infra_check import assert_round_trip, parse, subset

SHARED = Path(__file__).parents[3] / "shared" / "scans" / "generic"
SAMPLES = Path(__file__).parent / "samples" / "generic"

CASES = [
    (
        SHARED / "generic_report1.json",
        [("test title", None, None), ("test title2", None, None)],
    ),
    (
        SAMPLES / "generic_report3.json",
        [
            ("test title with endpoints as dict", "exemple.com", None),
            ("test title with endpoints as strings", "urlfiltering.paloaltonetworks.com", 80),
            ("test title with endpoints as strings", "urlfiltering.paloaltonetworks.com", 2345),
            ("test title", None, None),
        ],
    ),
]


LATIN1 = '{"findings": [{"title": "caf\u00e9", "severity": "Low", "description": ""}]}'.encode(
    "latin-1"
)


def _finding(**fields: object) -> dict[str, object]:
    return {"title": "T", "severity": "High", "description": "D", **fields}


def _doc(*findings: object, **top: object) -> bytes:
    return json.dumps({**top, "findings": list(findings)}).encode()


class TestRecords:
    @pytest.mark.parametrize(("path", "expected"), CASES, ids=lambda c: getattr(c, "name", ""))
    def test_sample(self, path: Path, expected: list[tuple[str, str | None, int | None]]) -> None:
        records = parse(FORMAT, path.read_bytes())
        assert [(r.title, r.host.dd_host, r.port) for r in records] == expected
        assert [r.index for r in records] == list(range(len(expected)))

    def test_sample_severity_date_and_cve(self) -> None:
        first = parse(FORMAT, (SHARED / "generic_report1.json").read_bytes())[0]
        assert (first.severity, str(first.date), first.vulnerability_ids) == (
            "Medium",
            "2021-01-06",
            ("CVE-2020-36234",),
        )

    def test_url_gives_scheme_default_port_and_ip_host(self) -> None:
        data = _doc(_finding(endpoints=["https://Shop.Example.com/cart", "10.0.0.5:8080"]))
        shop, address = parse(FORMAT, data)
        assert (shop.host.fqdn, shop.host.dd_host, shop.port, shop.protocol) == (
            "Shop.Example.com",
            "shop.example.com",
            443,
            "https",
        )
        assert (address.host.ip, address.host.dd_host, address.port) == (
            "10.0.0.5",
            "10.0.0.5",
            8080,
        )

    def test_url_field_of_an_endpoint_object(self) -> None:
        data = _doc(
            _finding(endpoints=[{"url": "https://a.example:8443/x"}, {"url": "10.0.0.7:8080"}])
        )
        assert [(r.host.dd_host, r.port) for r in parse(FORMAT, data)] == [
            ("a.example", 8443),
            ("10.0.0.7", 8080),
        ]

    def test_several_paths_on_one_host_port_are_one_record(self) -> None:
        data = _doc(_finding(endpoints=["https://a.example/x", "https://a.example/y"]))
        assert len(parse(FORMAT, data)) == 1

    def test_informational_severity_is_cleaned_like_dd_importer(self) -> None:
        assert parse(FORMAT, _doc(_finding(severity="informational")))[0].severity == "Info"

    def test_scope_title_is_the_report_name(self) -> None:
        assert FORMAT.scope_title(io.BytesIO(_doc(_finding(), name="Weekly web"))) == "Weekly web"
        assert FORMAT.scope_title(io.BytesIO(_doc(_finding()))) is None

    def test_sniff(self) -> None:
        assert FORMAT.sniff((SHARED / "generic_report1.json").read_bytes())
        assert not FORMAT.sniff(b'{"template-id": "x", "info": {}}')


class TestSubset:
    @pytest.mark.parametrize("path", [c[0] for c in CASES], ids=lambda p: p.name)
    def test_each_single_record(self, path: Path) -> None:
        data = path.read_bytes()
        for index in range(len(parse(FORMAT, data))):
            assert_round_trip(FORMAT, data, {index})

    def test_partly_kept_finding_keeps_only_kept_endpoints_and_metadata(self) -> None:
        data = (SAMPLES / "generic_report3.json").read_bytes()
        document = json.loads(assert_round_trip(FORMAT, data, {2}))
        assert [f["endpoints"] for f in document["findings"]] == [
            ["https://urlfiltering.paloaltonetworks.com:2345/test-pest"]
        ]
        named = _doc(_finding(endpoints=["a.example", "b.example"]), name="N", type="Tool")
        document = json.loads(assert_round_trip(FORMAT, named, {1}))
        assert (document["name"], document["type"]) == ("N", "Tool")
        assert document["findings"][0]["endpoints"] == ["b.example"]


class TestHostile:
    @pytest.mark.parametrize(
        ("data", "fragment"),
        [
            (_doc(_finding())[:-5], "not valid JSON"),
            (b'{"findings": [' + b"[" * 200 + b"]" * 200 + b"]}", "nests deeper"),
            ('{"findings": []}'.encode("utf-16"), "UTF-16"),
            (LATIN1, "not valid JSON"),
            (b'["not", "an", "object"]', "found a JSON array"),
            (b'{"results": []}', "keys: results"),
            (b'{"findings": {"title": "x"}}', "must be an array"),
            (_doc("just text"), "finding 1 is a JSON str"),
            (_doc(_finding(), {"title": "T", "severity": "High"}), "finding 2 lacks"),
            (_doc(_finding(colour="red")), "does not allow"),
            (_doc(_finding(severity="Severe")), "refuses severity"),
            (_doc(_finding(date="not a date")), "not a date"),
            (_doc(_finding(endpoints=["https://"])), "names no host"),
            (_doc(_finding(endpoints=[{"url": "shop.example:8080/x"}])), "e.g. https://shop"),
            (_doc(_finding()) + b" trailing", "JSON"),
        ],
    )
    def test_refused_with_position(self, data: bytes, fragment: str) -> None:
        with pytest.raises(ScanFormatError) as caught:
            parse(FORMAT, data)
        assert fragment in str(caught.value)
        assert caught.value.record is not None or caught.value.line is not None

    def test_wrong_shape_names_the_record(self) -> None:
        with pytest.raises(ScanFormatError) as caught:
            parse(FORMAT, _doc(_finding(), _finding(), 7))
        assert caught.value.record == 3

    def test_ten_megabyte_field_is_read(self) -> None:
        big = "x" * 10_000_000
        data = _doc(_finding(description=big, endpoints=["big.example"]))
        assert [r.host.dd_host for r in parse(FORMAT, data)] == ["big.example"]
        written, _ = subset(FORMAT, data, {0})
        assert written == 1

    def test_utf8_bom_is_accepted_as_python_json_does(self) -> None:
        assert len(parse(FORMAT, b"\xef\xbb\xbf" + _doc(_finding()))) == 1
