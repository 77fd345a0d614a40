"""ZAP XML: records, subsets and hostile input.

Oracle: DefectDojo's unittests/tools/test_zap_parser.py — 0_zap_sample.xml gives 4
findings (test_parse_some_findings_0; the commented-out alert item is not one),
some_2.9.0.xml 7 (test_parse_some_findings), empty_2.9.0.xml none (test_parse_no_findings),
zap-xml-plus-format.xml 1, "Insecure HTTP Method - PUT", Medium, plugin 90028, on localhost
port 8080 http (test_parse_xml_plus_format). All instances of these samples are on one host
and port, so each finding is one record.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from app.formats.base import ScanFormatError
from app.formats.zap import FORMAT
from tests.formats.infra_check import assert_round_trip, parse
from tests.formats.webcheck import xml_hostile_cases

SAMPLES = Path(__file__).parent / "samples" / "zap"
SAMPLE_COUNTS = {
    "0_zap_sample.xml": (4, "mainsite.com", 443),
    "some_2.9.0.xml": (7, "mainsite.com", 443),
    "empty_2.9.0.xml": (0, None, None),
    "zap-xml-plus-format.xml": (1, "localhost", 8080),
}
TWO_HOSTS = b"""<?xml version="1.0"?>
<OWASPZAPReport version="2.14.0" generated="now">
<site name="https://shop.example.com" host="shop.example.com" port="443" ssl="true"><alerts>
<alertitem><pluginid>10020</pluginid><alert>Missing Anti-clickjacking Header</alert>
<riskcode>2</riskcode><desc>d</desc><instances>
<instance><uri>https://shop.example.com/cart</uri><method>GET</method></instance>
<instance><uri>http://10.0.0.7/login</uri><method>GET</method></instance>
<instance><uri>https://shop.example.com/pay</uri><method>GET</method></instance>
</instances><solution>s</solution><reference>r</reference></alertitem>
<alertitem><pluginid>2</pluginid><alert>Private IP Disclosure</alert><riskcode>1</riskcode>
<desc>d</desc><solution>s</solution><reference>r</reference></alertitem>
</alerts></site></OWASPZAPReport>
"""


class TestRecords:
    @pytest.mark.parametrize(("name", "expected"), SAMPLE_COUNTS.items())
    def test_sample(self, name: str, expected: tuple[int, str | None, int | None]) -> None:
        records = parse(FORMAT, (SAMPLES / name).read_bytes())
        count, host, port = expected
        assert len(records) == count
        assert {(r.host.dd_host, r.port) for r in records} <= {(host, port)}

    def test_plus_format_finding(self) -> None:
        (record,) = parse(FORMAT, (SAMPLES / "zap-xml-plus-format.xml").read_bytes())
        assert (record.title, record.severity, record.scanner_id, record.protocol) == (
            "Insecure HTTP Method - PUT",
            "Medium",
            "90028",
            "http",
        )

    def test_one_alert_on_two_hosts_is_two_records(self) -> None:
        records = parse(FORMAT, TWO_HOSTS)
        assert [(r.title, r.host.dd_host, r.host.ip, r.port) for r in records] == [
            ("Missing Anti-clickjacking Header", "shop.example.com", None, 443),
            ("Missing Anti-clickjacking Header", "10.0.0.7", "10.0.0.7", 80),
            ("Private IP Disclosure", None, None, None),
        ]

    def test_sniff(self) -> None:
        assert FORMAT.sniff((SAMPLES / "0_zap_sample.xml").read_bytes())
        assert not FORMAT.sniff(b'<?xml version="1.0"?><issues burpVersion="1"></issues>')
        assert FORMAT.scope_title(io.BytesIO(TWO_HOSTS)) is None


class TestSubset:
    @pytest.mark.parametrize("name", [n for n, c in SAMPLE_COUNTS.items() if c[0]])
    def test_each_single_record(self, name: str) -> None:
        data = (SAMPLES / name).read_bytes()
        for index in range(len(parse(FORMAT, data))):
            assert_round_trip(FORMAT, data, {index})

    def test_partly_kept_alert_keeps_only_its_hosts_instances(self) -> None:
        document = assert_round_trip(FORMAT, TWO_HOSTS, {1})
        assert b"10.0.0.7" in document and b"shop.example.com/cart" not in document
        assert b'<site name="https://shop.example.com"' in document
        assert document.count(b"<alertitem>") == 1

    def test_keeping_both_hosts_keeps_all_instances(self) -> None:
        document = assert_round_trip(FORMAT, TWO_HOSTS, {0, 1, 2})
        assert document.count(b"<instance>") == 3


class TestHostile:
    def test_wrong_root_names_expected_and_found(self) -> None:
        with pytest.raises(ScanFormatError) as caught:
            parse(FORMAT, xml_hostile_cases("OWASPZAPReport", b"<x/>")["wrong-root"])
        assert "OWASPZAPReport" in str(caught.value) and "nmaprun" in str(caught.value)

    @pytest.mark.parametrize(
        ("change", "fragment"),
        [
            ((b"<riskcode>1</riskcode>", b"<riskcode>4</riskcode>"), "riskcode"),
            ((b"<alert>Private IP Disclosure</alert>", b""), "no <alert>"),
            ((b"<uri>http://10.0.0.7/login</uri>", b"<uri>/login</uri>"), "no host"),
            ((b"</alerts></site>", b"</alerts>"), "not well-formed"),
        ],
    )
    def test_broken_item_points_at_its_line(
        self, change: tuple[bytes, bytes], fragment: str
    ) -> None:
        with pytest.raises(ScanFormatError) as caught:
            parse(FORMAT, TWO_HOSTS.replace(*change))
        assert fragment in str(caught.value)
        assert caught.value.line is not None

    def test_ten_megabyte_text_is_read(self) -> None:
        data = TWO_HOSTS.replace(b"<desc>d</desc>", b"<desc>" + b"x" * 10_000_000 + b"</desc>", 1)
        assert len(parse(FORMAT, data)) == 3
