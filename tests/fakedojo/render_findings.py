"""DefectDojo's JSON for findings (with notes) and endpoint rows, for 3.2 and 2.58."""

from __future__ import annotations

import datetime as dt

from tests.fakedojo.render import NUMERICAL_SEVERITY, Json, iso
from tests.fakedojo.state import Endpoint, FakeDojoState, Finding, Note


def note(state: FakeDojoState, n: Note) -> Json:
    author = state.users[n.author_id]
    return {
        "id": n.id,
        "author": {
            "id": author.id,
            "username": author.username,
            "first_name": author.first_name,
            "last_name": author.last_name,
        },
        "editor": None,
        "history": [],
        "note_type": None,
        "entry": n.entry,
        "date": iso(n.date),
        "private": False,
        "edited": False,
        "edit_time": iso(n.date),
    }


def display_status(f: Finding) -> str:
    parts = ["Active" if f.active else "Inactive"]
    parts += ["Verified"] if f.verified else []
    parts += ["Mitigated"] if f.mitigated or f.is_mitigated else []
    parts += ["False Positive"] if f.false_p else []
    parts += ["Out Of Scope"] if f.out_of_scope else []
    parts += ["Duplicate"] if f.duplicate else []
    parts += ["Risk Accepted"] if f.risk_accepted else []
    return ", ".join(parts)


def finding(state: FakeDojoState, f: Finding, version: str) -> Json:
    test_row = state.tests[f.test_id]
    statuses = state.statuses_of(f.id)
    # 3.2 lists its LocationFindingReference ids, 2.58 its Endpoint ids (newest first).
    links = (
        sorted(s.id for s in statuses)
        if version == "3.2"
        else sorted((s.endpoint_id for s in statuses), reverse=True)
    )
    end = f.mitigated.date() if f.mitigated else dt.datetime.now(dt.UTC).date()
    body: Json = {"id": f.id, "mitigated": iso(f.mitigated), "mitigated_by": f.mitigated_by}
    if version == "2.58":
        body["tags"] = []
    body.update(
        {
            "request_response": {"req_resp": []},
            "accepted_risks": [],
            "push_to_jira": False,
            "found_by": [test_row.test_type_id],
            "age": max(0, (end - f.date).days),
            "sla_days_remaining": None,
            "finding_meta": [],
            "related_fields": None,
            "jira_creation": None,
            "jira_change": None,
            "display_status": display_status(f),
            "finding_groups": [],
            "vulnerability_ids": [
                {"vulnerability_id": v} for v in dict.fromkeys(f.vulnerability_ids)
            ],
        }
    )
    if version == "3.2":
        body["cwes"] = []
    body.update(
        {
            "reporter": f.reporter_id,
            "endpoints": links,
            "created": iso(f.created),
            "updated": iso(f.updated),
            "title": f.title,
            "date": f.date.isoformat(),
            "sla_start_date": None,
            "sla_expiration_date": None,
            "cwe": f.cwe,
            "epss_score": None,
            "epss_percentile": None,
            "known_exploited": False,
            "ransomware_used": False,
            "kev_date": None,
            "cvssv3": f.cvssv3,
            "cvssv3_score": f.cvssv3_score,
            "cvssv4": None,
            "cvssv4_score": None,
            "url": None,
            "severity": f.severity,
            "description": f.description,
            "mitigation": f.mitigation,
            "fix_available": None,
            "fix_version": None,
            "impact": f.impact,
            "steps_to_reproduce": None,
            "severity_justification": None,
            "references": f.references,
            "active": f.active,
            "verified": f.verified,
            "false_p": f.false_p,
            "duplicate": f.duplicate,
            "out_of_scope": f.out_of_scope,
            "risk_accepted": f.risk_accepted,
            "under_review": False,
            "last_status_update": iso(f.last_status_update),
            "under_defect_review": False,
            "is_mitigated": f.is_mitigated,
            "thread_id": 0,
            "numerical_severity": NUMERICAL_SEVERITY.get(f.severity, "S5"),
            "last_reviewed": iso(f.last_reviewed),
            "param": None,
            "payload": None,
            "hash_code": f.hash_code,
            "line": None,
            "file_path": None,
            "component_name": f.component_name,
            "component_version": f.component_version,
            "static_finding": f.static_finding,
            "dynamic_finding": f.dynamic_finding,
            "scanner_confidence": None,
            "unique_id_from_tool": f.unique_id_from_tool,
            "vuln_id_from_tool": f.vuln_id_from_tool,
            "sast_source_object": None,
            "sast_sink_object": None,
            "sast_source_line": None,
            "sast_source_file_path": None,
            "nb_occurences": None,
            "publish_date": None,
            "service": None,
            "planned_remediation_date": None,
            "planned_remediation_version": None,
            "effort_for_fixing": None,
            "test": f.test_id,
            "duplicate_finding": None,
            "review_requested_by": None,
            "defect_review_requested_by": None,
            "last_reviewed_by": f.reporter_id,
            "sonarqube_issue": None,
            "reviewers": [],
            "notes": [note(state, n) for n in f.notes],
            "files": [],
        }
    )
    if version == "3.2":
        body["tags"] = []
    return body


def _active_findings(state: FakeDojoState, endpoints: list[Endpoint]) -> list[int]:
    """Finding ids with an unmitigated status on these endpoints, on active findings."""
    return [
        s.finding_id
        for e in endpoints
        for s in state.statuses_on(e.id)
        if not s.mitigated and state.findings[s.finding_id].active
    ]


def endpoint(state: FakeDojoState, e: Endpoint, version: str, visible: set[int]) -> Json:
    """One row of /api/v2/endpoints/; `visible` = product ids the caller may see."""
    if version == "2.58":
        findings = sorted({s.finding_id for s in state.statuses_on(e.id)})
        return {
            "id": e.id,
            "tags": [],
            "active_finding_count": len(_active_findings(state, [e])),
            "protocol": e.protocol,
            "userinfo": e.userinfo,
            "host": e.host,
            "port": e.port,
            "path": e.path,
            "query": e.query,
            "fragment": e.fragment,
            "product": e.product_id,
            "endpoint_params": [],
            "findings": findings,
        }
    # 3.2 counts active references of the *location*, across every product the caller sees.
    same_location = [o for o in state.endpoints_at(e.location_id) if o.product_id in visible]
    own_active = _active_findings(state, [e])
    linked = bool(state.statuses_on(e.id))
    return {
        "id": e.id,
        "protocol": e.protocol or "",
        "userinfo": e.userinfo or "",
        "host": e.host,
        "port": e.port,
        "path": e.path or "",
        "query": e.query or "",
        "fragment": e.fragment or "",
        "tags": [],
        "location_id": e.location_id,
        "active_finding_count": len(_active_findings(state, same_location)),
        "created": iso(e.created),
        "updated": iso(e.created),
        "relationship": "",
        "relationship_data": {},
        "status": "Active" if own_active or not linked else "Mitigated",
        "product": e.product_id,
    }
