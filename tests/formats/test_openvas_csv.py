"""OpenVAS Parser, GVM CSV: records against DefectDojo's oracle, subsets, hostile input.

Oracle, DefectDojo's unittests/tools/test_openvas_parser.py (TestOpenVASParser,
test_openvas_csv_many_vuln) on the same many_vuln.csv: 4 findings; findings[3] is "HTTP
Brute Force Logins With Default Credentials Reporting", High, on one location LOGSRV (DD
compares it lower-cased), tcp, 9200; findings[2] has CVE-2011-3389 first. Every row is a
finding there, so records = rows; the host of every row is its "Hostname" (LOGSRV).
"""

from __future__ import annotations

import csv
import io

import pytest

from app.formats import registry
from app.formats.openvas_csv import FORMAT
from tests.formats import hostile
from tests.formats.infra_check import assert_round_trip, parse, subset
from tests.formats.scan_files import samples

(SAMPLE,) = samples("openvas", "*.csv")
HEADER = "IP,Hostname,Port,Port Protocol,Severity,NVT Name,Summary,NVT OID,CVEs,Timestamp"


def rows(*lines: str, header: str = HEADER) -> bytes:
    return ("\n".join((header, *lines)) + "\n").encode()


ROW = '10.0.0.5,,443,tcp,Medium,Weak TLS,"sum",1.3.6.1.4.1.25623.1.0.1,,2021-05-26T20:50:18Z'


class TestSample:
    def test_as_dd_shows_it(self) -> None:
        records = parse(FORMAT, SAMPLE.read_bytes())
        assert len(records) == 4
        assert {r.host.dd_host for r in records} == {"LOGSRV"}
        with SAMPLE.open(newline="", encoding="utf-8") as text:
            assert {r.title for r in records} == {row["NVT Name"] for row in csv.DictReader(text)}
        last = records[3]
        assert last.title == "HTTP Brute Force Logins With Default Credentials Reporting"
        assert (last.severity, last.protocol, last.port) == ("High", "tcp", 9200)
        assert records[2].vulnerability_ids[0] == "CVE-2011-3389"
        assert records[0].host.ip == "192.168.118.212"
        assert records[0].date is not None and records[0].date.isoformat() == "2021-05-26"
        assert FORMAT.scope_title(io.BytesIO(SAMPLE.read_bytes())) is None
        assert registry.resolve("OpenVAS Parser", SAMPLE.read_bytes()[:65536]) is FORMAT


class TestRules:
    def test_hostname_wins_over_ip_whatever_the_column_order(self) -> None:
        header = "Hostname,NVT Name,Severity,IP,Timestamp"
        (record,) = parse(
            FORMAT, rows("web01.example.com,T,Low,10.0.0.1,2021-01-01", header=header)
        )
        assert (record.host.dd_host, record.host.fqdn, record.host.ip) == (
            "web01.example.com",
            "web01.example.com",
            "10.0.0.1",
        )

    def test_reordered_columns_give_the_same_records(self) -> None:
        names = HEADER.split(",")
        values = next(csv.reader([ROW]))
        order = list(reversed(range(len(names))))
        shuffled = rows(
            ",".join(f'"{values[i]}"' for i in order), header=",".join(names[i] for i in order)
        )
        assert parse(FORMAT, shuffled) == parse(FORMAT, rows(ROW))

    def test_severity_outside_dd_names_is_info(self) -> None:
        (record,) = parse(FORMAT, rows(ROW.replace("Medium", "Log")))
        assert record.severity == "Info"

    def test_repeated_rows_are_one_finding(self) -> None:
        records = parse(FORMAT, rows(ROW, ROW, ROW.replace("443", "8443")))
        assert [r.port for r in records] == [443, 8443]
        written, document = subset(FORMAT, rows(ROW, ROW, ROW.replace("443", "8443")), {0})
        assert written == 1 and document.count(b"Weak TLS") == 1

    def test_cves_from_both_columns(self) -> None:
        row = ROW.replace(
            "1.3.6.1.4.1.25623.1.0.1,,", '1.3.6.1.4.1.25623.1.0.1,"CVE-2020-1,CVE-2020-2",'
        )
        row = row.replace("1.3.6.1.4.1.25623.1.0.1", "CVE-2019-12345")
        (record,) = parse(FORMAT, rows(row))
        assert record.vulnerability_ids == ("CVE-2019-12345", "CVE-2020-1", "CVE-2020-2")

    def test_formulas_are_data(self) -> None:
        formula = "=cmd|' /C calc'!A0"
        document = rows(ROW.replace("Weak TLS", f'"{formula}"'))
        (record,) = parse(FORMAT, document)
        assert record.title == formula
        _, copy = subset(FORMAT, document, {0})
        assert [r.title for r in parse(FORMAT, copy)] == [formula]


class TestSubset:
    def test_sample_round_trips(self) -> None:
        data = SAMPLE.read_bytes()
        for keep in ({0}, {1, 3}, set(), {0, 1, 2, 3}):
            assert_round_trip(FORMAT, data, keep)


class TestHostile:
    @pytest.mark.parametrize(
        ("row", "problem"),
        [
            (ROW.replace("2021-05-26T20:50:18Z", ""), "timestamp"),
            (ROW.replace("2021-05-26T20:50:18Z", "yesterday"), "timestamp"),
            (ROW + ",extra", "cells"),
            ("10.0.0.5,,443,tcp", "severity"),
        ],
    )
    def test_rows_dd_cannot_read(self, row: str, problem: str) -> None:
        error = hostile.assert_refused(FORMAT, rows(ROW, row), located=True, match=problem)
        assert error.record == 2

    def test_cvss_must_be_a_number(self) -> None:
        document = rows("10.0.0.5,T,Low,x.y", header="IP,NVT Name,Severity,CVSS")
        hostile.assert_refused(FORMAT, document, located=True, match="cvss")
