"""Qualys Scan, CSV export: records against DefectDojo's oracle, subsets, hostile input.

Oracle, DefectDojo's unittests/tools/test_qualys_parser.py
(parse_file_with_multiple_vuln_has_multiple_findings_csv) on the same
Qualys_Sample_Report.csv: 3 findings; findings[0] is "QID-105971 | EOL/Obsolete Software:
Microsoft ASP.NET 1.0 Detected", Critical, first endpoint
ip-10-98-57-180.eu-west-1.compute.internal, dated 2021-05-25. csv_parser.py merges rows by
QID and adds each row's endpoint (DNS, as FQDN is empty), so the 6 rows are 6 records whose
(title, host) pairs `dd_pairs` rebuilds with csv.DictReader.
"""

from __future__ import annotations

import csv
import io

import pytest

from app.formats import registry
from app.formats.qualys_csv import FORMAT
from tests.formats import hostile
from tests.formats.infra_check import parse, subset
from tests.formats.scan_files import samples

(SAMPLE,) = samples("qualys", "*.csv")
HEADER = (
    "IP,DNS,NetBIOS,QID,Title,Vuln Status,Severity,Port,Protocol,FQDN,Last Detected,"
    "Date Last Fixed,CVE ID,CVSS3 Base,CVSS3 Temporal,Threat,Impact,Solution"
)
ROW = (
    "10.0.0.5,web.example.com,WEB,38170,Weak TLS,Active,3,443,tcp,,05/25/2021 07:36:58,,"
    '"CVE-2021-1, CVE-2021-2",,,t,i,s'
)


def rows(*lines: str, header: str = HEADER) -> bytes:
    return ("\n".join((header, *lines)) + "\n").encode()


def dd_pairs(data: bytes) -> set[tuple[str, str]]:
    """DD's (finding title, endpoint host) pairs: the title of each QID's first row."""
    titles: dict[str, str] = {}
    pairs = set()
    for row in csv.DictReader(io.StringIO(data.decode("utf-8"))):
        title = titles.setdefault(row["QID"], f"QID-{row['QID']} | {row['Title']}")
        pairs.add((title, row["FQDN"] or row["DNS"] or row["IP"]))
    return pairs


class TestSample:
    def test_as_dd_shows_it(self) -> None:
        data = SAMPLE.read_bytes()
        records = parse(FORMAT, data)
        assert len(records) == 6
        assert len({r.title for r in records}) == 3
        assert {(r.title, r.host.dd_host) for r in records} == dd_pairs(data)
        first = records[0]
        assert first.title == "QID-105971 | EOL/Obsolete Software: Microsoft ASP.NET 1.0 Detected"
        assert (first.severity, first.host.dd_host) == (
            "Critical",
            "ip-10-98-57-180.eu-west-1.compute.internal",
        )
        assert first.date is not None and first.date.isoformat() == "2021-05-25"
        assert (first.host.ip, first.host.netbios) == ("10.98.57.180", "EC2AMAZ-IU0C43L")
        assert len(records[2].vulnerability_ids) == 23
        assert FORMAT.scope_title(io.BytesIO(data)) is None
        assert registry.resolve("Qualys Scan", data[:65536]) is FORMAT


class TestRules:
    def test_rows_of_a_qid_take_its_first_title_and_severity(self) -> None:
        second = ROW.replace("10.0.0.5,web.example.com", "10.0.0.6,").replace(
            "Weak TLS,Active,3", "Renamed,Active,5"
        )
        records = parse(FORMAT, rows(ROW, second))
        assert [(r.title, r.severity, r.host.dd_host) for r in records] == [
            ("QID-38170 | Weak TLS", "Medium", "web.example.com"),
            ("QID-38170 | Weak TLS", "Medium", "10.0.0.6"),
        ]
        assert records[0].vulnerability_ids == ("CVE-2021-1", "CVE-2021-2")
        assert (records[0].port, records[0].protocol) == (443, "tcp")

    def test_a_bare_fqdn_leaves_dd_without_endpoint_host(self) -> None:
        (bare,) = parse(FORMAT, rows(ROW.replace(",tcp,,", ",tcp,app.example.com,")))
        (url,) = parse(FORMAT, rows(ROW.replace(",tcp,,", ",tcp,https://app.example.com/,")))
        assert (bare.host.dd_host, bare.host.fqdn) == (None, "app.example.com")
        assert url.host.dd_host == "app.example.com"

    def test_repeated_header_rows_and_empty_titles_are_skipped(self) -> None:
        records = parse(FORMAT, rows(ROW, HEADER, ",,,1,,,,,,,,,,,,,,"))
        assert len(records) == 1

    def test_pci_shape(self) -> None:
        header = (
            "IP,HOSTNAME,LAST SCAN,QID,VULN TITLE,SEVERITY,PORT,PROTOCOL,"
            "THREAT,IMPACT,SOLUTION,CVEID"
        )
        line = (
            "192.168.0.1,abv.xyw.com.fj,22/09/2022 13:01,86476,Web Server Stopped,Medium,80,tcp,"
            "t,i,s,"
        )
        (record,) = parse(FORMAT, rows(line, header=header))
        assert (record.title, record.severity, record.host.dd_host, record.host.fqdn) == (
            "QID-86476 | Web Server Stopped",
            "Medium",
            "192.168.0.1",
            "abv.xyw.com.fj",
        )
        hostile.assert_refused(
            FORMAT,
            rows(line.replace("Medium", "Severe"), header=header),
            located=True,
            match="SEVERITY",
        )

    def test_reordered_columns_give_the_same_records(self) -> None:
        names = HEADER.split(",")
        values = next(csv.reader([ROW]))
        order = list(reversed(range(len(names))))
        shuffled = rows(
            ",".join(f'"{values[i]}"' for i in order), header=",".join(names[i] for i in order)
        )
        assert parse(FORMAT, shuffled) == parse(FORMAT, rows(ROW))

    def test_formulas_are_data(self) -> None:
        formula = '=HYPERLINK("http://evil.example","x")'
        document = rows(ROW.replace("Weak TLS", '"=HYPERLINK(""http://evil.example"",""x"")"'))
        (record,) = parse(FORMAT, document)
        assert record.title == f"QID-38170 | {formula}"
        _, copy = subset(FORMAT, document, {0})
        assert parse(FORMAT, copy) == parse(FORMAT, document)


class TestHostile:
    @pytest.mark.parametrize(
        ("row", "problem"),
        [
            (ROW.replace("07:36:58,,", "07:36:58,2021-05-25,"), "Date Last Fixed"),
            ("10.0.0.7,,,1,Short", "cells"),
        ],
    )
    def test_rows_dd_cannot_read(self, row: str, problem: str) -> None:
        error = hostile.assert_refused(FORMAT, rows(ROW, row), located=True, match=problem)
        assert error.record == 2
