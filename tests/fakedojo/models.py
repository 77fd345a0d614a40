"""The rows of the in-memory DefectDojo, one dataclass per table the double serves."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


def now() -> dt.datetime:
    """The clock of the double (UTC, microseconds, as DefectDojo stores timestamps)."""
    return dt.datetime.now(dt.UTC)


@dataclass
class User:
    id: int
    username: str
    password: str
    token: str
    is_superuser: bool = False
    is_staff: bool = False
    is_active: bool = True
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    global_role: int | None = None
    has_contact_info: bool = False
    date_joined: dt.datetime = field(default_factory=now)


@dataclass
class ProductType:
    id: int
    name: str
    description: str | None = None
    critical_product: bool = False
    key_product: bool = False
    members: dict[int, int] = field(default_factory=dict)
    created: dt.datetime | None = field(default_factory=now)
    updated: dt.datetime | None = field(default_factory=now)


@dataclass
class Product:
    id: int
    name: str
    description: str
    prod_type_id: int
    members: dict[int, int] = field(default_factory=dict)
    created: dt.datetime = field(default_factory=now)


@dataclass
class Engagement:
    id: int
    product_id: int
    name: str | None
    target_start: str
    target_end: str
    status: str | None = ""
    engagement_type: str | None = "Interactive"
    description: str | None = None
    version: str | None = None
    build_id: str | None = None
    commit_hash: str | None = None
    branch_tag: str | None = None
    lead: int | None = None
    active: bool = True
    created: dt.datetime = field(default_factory=now)
    updated: dt.datetime = field(default_factory=now)


@dataclass
class Test:
    id: int
    engagement_id: int
    scan_type: str
    test_type_id: int
    title: str | None = None
    version: str = ""
    build_id: str = ""
    commit_hash: str = ""
    branch_tag: str = ""
    percent_complete: int = 100
    target_start: dt.datetime = field(default_factory=now)
    target_end: dt.datetime = field(default_factory=now)
    created: dt.datetime = field(default_factory=now)
    updated: dt.datetime = field(default_factory=now)


@dataclass
class Endpoint:
    id: int
    product_id: int
    host: str
    protocol: str | None = None
    port: int | None = None
    path: str | None = None
    userinfo: str | None = None
    query: str | None = None
    fragment: str | None = None
    location_id: int = 0
    created: dt.datetime = field(default_factory=now)

    def key(self) -> tuple[object, ...]:
        return (
            self.protocol,
            self.userinfo,
            self.host,
            self.port,
            self.path,
            self.query,
            self.fragment,
        )


@dataclass
class Note:
    id: int
    author_id: int
    entry: str
    date: dt.datetime = field(default_factory=now)


@dataclass
class EndpointStatus:
    """Endpoint_Status (2.58) / LocationFindingReference (3.2) of one finding on one endpoint."""

    id: int
    finding_id: int
    endpoint_id: int
    mitigated: bool = False
    mitigated_time: dt.datetime | None = None
    mitigated_by: int | None = None
    date: dt.date = field(default_factory=lambda: now().date())
    last_modified: dt.datetime = field(default_factory=now)


@dataclass(eq=False)
class Finding:
    """A finding; compared by identity, like one database row."""

    id: int
    test_id: int
    title: str
    severity: str
    description: str
    hash_code: str
    reporter_id: int
    date: dt.date
    mitigation: str | None = None
    impact: str | None = None
    references: str | None = None
    cwe: int | None = None
    cvssv3: str | None = None
    cvssv3_score: float | None = None
    component_name: str | None = None
    component_version: str | None = None
    vuln_id_from_tool: str | None = None
    unique_id_from_tool: str | None = None
    static_finding: bool = False
    dynamic_finding: bool = True
    vulnerability_ids: list[str] = field(default_factory=list)
    active: bool = True
    verified: bool = False
    is_mitigated: bool = False
    mitigated: dt.datetime | None = None
    mitigated_by: int | None = None
    false_p: bool = False
    duplicate: bool = False
    out_of_scope: bool = False
    risk_accepted: bool = False
    notes: list[Note] = field(default_factory=list)
    last_reviewed: dt.datetime | None = None
    created: dt.datetime = field(default_factory=now)
    updated: dt.datetime = field(default_factory=now)
    last_status_update: dt.datetime = field(default_factory=now)
