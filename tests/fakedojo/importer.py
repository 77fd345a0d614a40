"""What `import-scan` and `reimport-scan` do to the state, after DefectDojo's importers.

Read from `dojo/importers/default_importer.py` and `default_reimporter.py`:
- findings below `minimum_severity` are dropped; titles are title-cased on save
  (`titlecase`, as `Finding.save` does); hash codes use the scan type's dedupe fields;
- reimport matches each parsed finding to the test's findings by hash code (`hash_code`
  algorithm) or by raw title + severity (`legacy`), never by endpoint. On a match to an
  active finding it mitigates the finding's endpoint statuses whose endpoint is not in the
  new file and reactivates those that are (always, whatever `close_old_findings` says);
  a mitigated match is reactivated unless `do_not_reactivate`; no match creates a finding;
- with `close_old_findings`, reimport mitigates the test's findings that were neither
  matched nor reactivated; import closes active findings of the same scan type elsewhere in
  the engagement (or product) whose hash code is not in the new test;
- statistics count the test's findings per severity: `after`, and for reimport `before`
  and `delta` (created, closed, reactivated, untouched).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass, field
from typing import Any

import idna
from titlecase import titlecase  # type: ignore[import-untyped]

from tests.fakedojo.parsed import ParsedEndpoint, ParsedFinding
from tests.fakedojo.parsers import dedupe_config, hash_code, test_type_ids
from tests.fakedojo.state import (
    Endpoint,
    EndpointStatus,
    Engagement,
    FakeDojoState,
    Finding,
    Note,
    Test,
    User,
    now,
)

SEVERITY_RANK = {"Critical": 0, "High": 1, "Medium": 2, "Low": 3, "Info": 4}
STAT_SEVERITIES = ("info", "low", "medium", "high", "critical")
STAT_KEYS = (
    "active",
    "verified",
    "duplicate",
    "false_p",
    "out_of_scope",
    "is_mitigated",
    "risk_accepted",
)
# dojo/url/validators.py DEFAULT_PORTS: a 3.x URL without port gets its scheme's default.
URL_DEFAULT_PORTS = {
    "ftp": 21,
    "ssh": 22,
    "sftp": 22,
    "telnet": 23,
    "smtp": 25,
    "tftp": 69,
    "http": 80,
    "pop3": 110,
    "nntp": 119,
    "imap": 143,
    "ldap": 389,
    "https": 443,
    "smb": 445,
    "rtsp": 554,
    "nntps": 563,
    "smtps": 465,
    "submission": 587,
    "ldaps": 636,
    "ftps-data": 989,
    "ftps": 990,
    "imaps": 993,
    "pop3s": 995,
    "rdp": 3389,
    "vnc": 5900,
    "sip": 5060,
    "sips": 5061,
    "mqtt": 1883,
    "mqtts": 8883,
    "openvpn": 1194,
    "irc": 194,
}


@dataclass
class ImportOptions:
    """The import form's fields that change what DefectDojo stores."""

    scan_type: str
    minimum_severity: str = "Info"
    active: bool | None = None
    verified: bool | None = None
    scan_date: dt.date | None = None
    test_title: str | None = None
    version: str | None = None
    build_id: str | None = None
    commit_hash: str | None = None
    branch_tag: str | None = None
    close_old_findings: bool = False
    close_old_findings_product_scope: bool = False
    do_not_reactivate: bool = False


@dataclass
class ImportOutcome:
    test: Test
    statistics: dict[str, Any]
    findings: int = 0
    endpoint_statuses: int = 0
    lists: dict[str, list[Finding]] = field(default_factory=dict)


def statistics(findings: list[Finding]) -> dict[str, dict[str, int]]:
    """DefectDojo's per-severity counters of a set of findings."""
    stats: dict[str, dict[str, int]] = {}
    for severity in (*STAT_SEVERITIES, "total"):
        chosen = [f for f in findings if severity == "total" or f.severity.lower() == severity]
        stats[severity] = {key: sum(1 for f in chosen if getattr(f, key)) for key in STAT_KEYS}
        stats[severity]["total"] = len(chosen)
    return stats


def clean_endpoint(endpoint: ParsedEndpoint, version: str) -> Endpoint:
    """Endpoint.clean() (2.58) or URL.clean() (3.2): what the stored row holds."""
    protocol = endpoint.protocol or None
    host, port = endpoint.host, endpoint.port
    if version == "3.2":
        protocol = protocol.lower() if protocol else None
        try:
            host = ipaddress.ip_address(host).compressed
        except ValueError:
            try:
                host = idna.encode(host, uts46=True).decode("ascii")
            except idna.IDNAError:
                host = host.lower()
        port = port or URL_DEFAULT_PORTS.get(protocol or "")
    return Endpoint(
        id=0,
        product_id=0,
        host=host,
        protocol=protocol,
        port=port,
        path=endpoint.path or None,
        userinfo=endpoint.userinfo or None,
        query=endpoint.query or None,
        fragment=endpoint.fragment or None,
    )


class Importer:
    """One import or reimport by one user into the state."""

    def __init__(self, state: FakeDojoState, user: User, version: str, options: ImportOptions):
        self.state, self.user, self.version, self.options = state, user, version, options
        self.moment = now()
        self.endpoint_statuses = 0

    def _kept(self, parsed: list[ParsedFinding]) -> list[ParsedFinding]:
        limit = SEVERITY_RANK[self.options.minimum_severity]
        return [p for p in parsed if SEVERITY_RANK.get(p.severity, 4) <= limit]

    def _endpoints(self, product_id: int, parsed: ParsedFinding) -> list[Endpoint]:
        rows = [
            self.state.get_or_create_endpoint(product_id, clean_endpoint(e, self.version))
            for e in parsed.endpoints
        ]
        return list({row.id: row for row in rows}.values())

    def _attach(self, finding: Finding, endpoints: list[Endpoint]) -> int:
        have = {s.endpoint_id for s in self.state.statuses_of(finding.id)}
        fresh = [row for row in endpoints if row.id not in have]
        for row in fresh:
            self.state.add_status(finding.id, row.id)
        return len(fresh)

    def _create(self, test: Test, parsed: ParsedFinding, product_id: int) -> Finding:
        finding = Finding(
            id=self.state.next_id("finding"),
            test_id=test.id,
            title=titlecase(parsed.title[:511]),
            severity=parsed.severity,
            description=parsed.description,
            hash_code=hash_code(self.options.scan_type, parsed),
            reporter_id=self.user.id,
            date=self.options.scan_date or parsed.date or self.moment.date(),
            mitigation=parsed.mitigation,
            impact=parsed.impact,
            references=parsed.references,
            cwe=parsed.cwe,
            cvssv3=parsed.cvssv3,
            cvssv3_score=parsed.cvssv3_score,
            component_name=parsed.component_name or None,
            component_version=parsed.component_version or None,
            vuln_id_from_tool=parsed.vuln_id_from_tool,
            unique_id_from_tool=parsed.unique_id_from_tool,
            static_finding=parsed.static_finding,
            dynamic_finding=parsed.dynamic_finding,
            vulnerability_ids=list(dict.fromkeys(parsed.vulnerability_ids)),
            active=True if self.options.active is None else self.options.active,
            verified=False if self.options.verified is None else self.options.verified,
            last_reviewed=self.moment,
            created=self.moment,
            updated=self.moment,
            last_status_update=self.moment,
        )
        self.state.findings[finding.id] = finding
        self.endpoint_statuses += self._attach(finding, self._endpoints(product_id, parsed))
        return finding

    def mitigate(self, finding: Finding, scan_type: str) -> None:
        """`mitigate_finding`: close it, note why, mitigate its endpoint statuses."""
        finding.active, finding.is_mitigated = False, True
        finding.mitigated, finding.mitigated_by = self.moment, self.user.id
        finding.updated = finding.last_status_update = self.moment
        finding.notes.append(
            Note(
                self.state.next_id("note"),
                self.user.id,
                f"Mitigated by {scan_type} re-upload.",
                self.moment,
            )
        )
        for status in self.state.statuses_of(finding.id):
            self._set_status(status, mitigated=True)

    def _set_status(self, status: EndpointStatus, *, mitigated: bool) -> None:
        if status.mitigated == mitigated:
            return
        status.mitigated = mitigated
        status.mitigated_time = self.moment if mitigated else None
        status.mitigated_by = self.user.id if mitigated else None
        status.last_modified = self.moment

    def import_scan(self, engagement: Engagement, parsed: list[ParsedFinding]) -> ImportOutcome:
        scan_type = self.options.scan_type
        test = self.state.add_test(
            engagement.id,
            scan_type,
            title=self.options.test_title,
            test_type_id=test_type_ids(self.version)[scan_type],
        )
        test.version = self.options.version or ""
        test.build_id = self.options.build_id or ""
        test.commit_hash = self.options.commit_hash or ""
        test.branch_tag = self.options.branch_tag or ""
        kept = self._kept(parsed)
        created = [self._create(test, p, engagement.product_id) for p in kept]
        if self.options.close_old_findings:
            self._close_elsewhere(test, engagement, {f.hash_code for f in created})
        test.target_end = test.updated = engagement.updated = now()
        return ImportOutcome(
            test, {"after": statistics(created)}, len(kept), self.endpoint_statuses
        )

    def _close_elsewhere(self, test: Test, engagement: Engagement, hashes: set[str]) -> None:
        for finding in list(self.state.findings.values()):
            other = self.state.tests[finding.test_id]
            other_engagement = self.state.engagements[other.engagement_id]
            same_scope = (
                other_engagement.product_id == engagement.product_id
                if self.options.close_old_findings_product_scope
                else other_engagement.id == engagement.id
            )
            if (
                same_scope
                and other.id != test.id
                and other.scan_type == test.scan_type
                and finding.active
                and finding.hash_code not in hashes
            ):
                self.mitigate(finding, test.scan_type)

    def reimport_scan(self, test: Test, parsed: list[ParsedFinding]) -> ImportOutcome:
        product_id = self.state.product_of_test(test).id
        original = [f for f in self.state.findings.values() if f.test_id == test.id]
        before = statistics(original)
        config = dedupe_config(test.scan_type)
        new: list[Finding] = []
        reactivated: list[Finding] = []
        unchanged: list[Finding] = []
        kept = self._kept(parsed)
        index: dict[object, Finding] = {}
        for existing in sorted(original, key=lambda f: f.id):
            index.setdefault(self._match_key(config.algorithm, existing), existing)
        for item in kept:
            code = hash_code(test.scan_type, item)
            probe = code if config.algorithm == "hash_code" else (item.title, item.severity)
            match = index.get(probe)
            if match is None:
                created = self._create(test, item, product_id)
                index.setdefault(self._match_key(config.algorithm, created), created)
                new.append(created)
                continue
            if match.false_p or match.out_of_scope or match.risk_accepted:
                unchanged.append(match)
                continue
            if match.is_mitigated:
                if self.options.do_not_reactivate:
                    continue
                self._reactivate(match, test.scan_type)
                reactivated.append(match)
            else:
                unchanged.append(match)
            endpoints = self._endpoints(product_id, item)
            if match.dynamic_finding:
                present = {row.id for row in endpoints}
                for status in self.state.statuses_of(match.id):
                    self._set_status(status, mitigated=status.endpoint_id not in present)
            self.endpoint_statuses += self._attach(match, endpoints)
        to_mitigate = [f for f in original if f not in reactivated and f not in unchanged]
        untouched = [f for f in dict.fromkeys(unchanged) if f not in new and f not in reactivated]
        closed: list[Finding] = []
        if self.options.close_old_findings:
            for finding in to_mitigate:
                if not finding.mitigated or not finding.is_mitigated:
                    self.mitigate(finding, test.scan_type)
                    closed.append(finding)
        self._update_test_meta(test)
        after = [f for f in self.state.findings.values() if f.test_id == test.id]
        delta = {
            "created": statistics(new),
            "closed": statistics(closed),
            "reactivated": statistics(reactivated),
            "untouched": statistics(untouched),
        }
        return ImportOutcome(
            test,
            {"before": before, "delta": delta, "after": statistics(after)},
            len(kept),
            self.endpoint_statuses,
            {"new": new, "closed": closed, "reactivated": reactivated, "untouched": untouched},
        )

    @staticmethod
    def _match_key(algorithm: str, finding: Finding) -> object:
        """What reimport compares: hash code, or (stored title, severity) for `legacy`."""
        return finding.hash_code if algorithm == "hash_code" else (finding.title, finding.severity)

    def _reactivate(self, finding: Finding, scan_type: str) -> None:
        finding.active, finding.is_mitigated = True, False
        finding.mitigated = finding.mitigated_by = None
        if self.options.verified is not None:
            finding.verified = self.options.verified
        finding.updated = finding.last_status_update = self.moment
        finding.notes.append(
            Note(
                self.state.next_id("note"),
                self.user.id,
                f"Re-activated by {scan_type} re-upload.",
                self.moment,
            )
        )
        for status in self.state.statuses_of(finding.id):
            self._set_status(status, mitigated=False)

    def _update_test_meta(self, test: Test) -> None:
        for name in ("version", "build_id", "commit_hash", "branch_tag"):
            value = getattr(self.options, name)
            if value:
                setattr(test, name, value)
        test.updated = test.target_end = now()
        self.state.engagements[test.engagement_id].updated = test.updated
