"""Nuclei JSON/JSONL: records, subsets and hostile input.

Oracle: DefectDojo's unittests/tools/test_nuclei_parser.py. many_findings.json: 16
findings; the tech-detect findings "bootstrap" and "font-awesome" each hold endpoints on
127.0.0.1 ports 8080 and 9090 (finding 4: two endpoints), so 18 (finding, port) records;
finding 0 is on nuclei-example.com:22, 1 on :443, 3 on 127.0.0.1:8080, 15 on :3306.
many_findings_new.json: 2 findings, the first Medium on port 22 with CVE-2018-15473.
multiple_v3.json (a JSON array): 5 findings. multiple_matches.json: 2 findings on
turquoise-estrellita-69.tiiny.site. issue_9201.json: 1 finding on example.com.
no_findings.json: none.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.formats.base import ScanFormatError
from app.formats.nuclei import FORMAT
from tests.formats.infra_check import assert_round_trip, parse

SAMPLES = Path(__file__).parent / "samples" / "nuclei"
TECH = "Wappalyzer Technology Detection"
SITE = "nuclei-example.com"

CASES = {
    "many_findings.json": [
        ("OpenSSH 5.3 Detection", SITE, 22),
        ("nginx version detect", SITE, 443),
        ("phpMyAdmin setup page", SITE, 443),
        (TECH, "127.0.0.1", 8080),
        (TECH, "127.0.0.1", 8080),
        (TECH, "127.0.0.1", 8080),
        (TECH, "127.0.0.1", 9090),
        (TECH, "127.0.0.1", 9090),
        *[(TECH, SITE, 443)] * 6,
        ("WAF Detection", SITE, 443),
        ("WAF Detection", SITE, 443),
        ("phpMyAdmin Panel", SITE, 443),
        ("MySQL DB with enabled native password", SITE, 3306),
    ],
    "many_findings_new.json": [
        ("OpenSSH Username Enumeration v7.7", SITE, 22),
        ("Exposed Prometheus metrics", SITE, 443),
    ],
    "multiple_v3.json": [
        ("DNS SaaS Service Detection", "www.asdf.de", None),
        ("CAA Record", "www.asdf.de", None),
        ("Detect SSL Certificate Issuer", "www.asdf.de", 443),
        ("SSL DNS Names", "www.asdf.de", 443),
        ("TLS Version - Detect", "www.asdf.de", 443),
    ],
    "multiple_matches.json": [(TECH, "turquoise-estrellita-69.tiiny.site", 443)] * 2,
    "issue_9201.json": [("favicon-detection", "example.com", 443)],
    "no_findings.json": [],
}


def _result(**fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "template-id": "t",
        "info": {"name": "N", "severity": "high"},
        "type": "http",
        "matched-at": "https://a.example/x",
    }
    return {**base, **fields}


def _jsonl(*results: object) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in results)


class TestRecords:
    @pytest.mark.parametrize(("name", "expected"), CASES.items())
    def test_sample(self, name: str, expected: list[tuple[str, str, int | None]]) -> None:
        records = parse(FORMAT, (SAMPLES / name).read_bytes())
        assert [(r.title, r.host.dd_host, r.port) for r in records] == expected

    def test_severity_cve_and_template(self) -> None:
        first = parse(FORMAT, (SAMPLES / "many_findings_new.json").read_bytes())[0]
        assert (first.severity, first.vulnerability_ids, first.scanner_id) == (
            "Medium",
            ("CVE-2018-15473",),
            "CVE-2018-15473",
        )

    def test_unknown_severity_becomes_low(self) -> None:
        data = _jsonl(_result(info={"name": "N", "severity": "unknown"}))
        assert parse(FORMAT, data)[0].severity == "Low"

    def test_same_template_on_two_hosts_is_two_findings(self) -> None:
        data = _jsonl(_result(), _result(**{"matched-at": "http://10.1.1.1:8080/"}))
        assert [(r.host.dd_host, r.host.ip, r.port) for r in parse(FORMAT, data)] == [
            ("a.example", None, 443),
            ("10.1.1.1", "10.1.1.1", 8080),
        ]

    def test_sniff(self) -> None:
        for name in ("many_findings.json", "multiple_v3.json"):
            assert FORMAT.sniff((SAMPLES / name).read_bytes())
        assert not FORMAT.sniff(b'{"findings": []}')


class TestSubset:
    @pytest.mark.parametrize("name", [n for n, e in CASES.items() if e])
    def test_single_and_alternate_records(self, name: str) -> None:
        data = (SAMPLES / name).read_bytes()
        count = len(parse(FORMAT, data))
        for index in range(count):
            assert_round_trip(FORMAT, data, {index})
        assert_round_trip(FORMAT, data, set(range(0, count, 2)))

    def test_array_stays_an_array_and_jsonl_stays_lines(self) -> None:
        array = assert_round_trip(FORMAT, (SAMPLES / "multiple_v3.json").read_bytes(), {4})
        assert array.startswith(b"[") and len(json.loads(array)) == 2
        lines = assert_round_trip(FORMAT, (SAMPLES / "many_findings.json").read_bytes(), {0, 17})
        assert lines.count(b"\n") == 2


class TestHostile:
    @pytest.mark.parametrize(
        ("data", "fragment", "where"),
        [
            (_jsonl(_result())[:-10] + b"\n", "not valid JSON", "line"),
            (b"[" + json.dumps(_result()).encode(), "premature EOF", "record"),
            (_jsonl(_result()) + b" \n", "not valid JSON", "line"),
            (b'[{"a": ' + b"[" * 100 + b"]" * 100 + b"}]", "nests deeper", "record"),
            (b"{" + b'"a":[' * 5000 + b"]" * 5000 + b"}\n", "", "line"),
            (_jsonl(_result()).decode().encode("utf-16"), "UTF-16", "line"),
            (
                '{"info": {"name": "Caf\u00e9", "severity": "low"}}\n'.encode("latin-1"),
                "UTF-8",
                "line",
            ),
            (b" " + _jsonl(_result()), "imports nothing", "line"),
            (b"\xef\xbb\xbf" + _jsonl(_result()), "imports nothing", "line"),
            (b'["a", "b"]', "result 1 is not a Nuclei result", "record"),
            (_jsonl(_result(), {"info": "x"}), "result 2", "record"),
            (_jsonl(_result(**{"matched-at": ""})), "no host", "record"),
        ],
    )
    def test_refused_with_position(self, data: bytes, fragment: str, where: str | None) -> None:
        with pytest.raises(ScanFormatError) as caught:
            parse(FORMAT, data)
        assert fragment in str(caught.value)
        if where is not None:
            assert getattr(caught.value, where) is not None

    def test_ten_megabyte_field_is_read(self) -> None:
        data = _jsonl(_result(response="x" * 10_000_000))
        assert len(parse(FORMAT, data)) == 1
