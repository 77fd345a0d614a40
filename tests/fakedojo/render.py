"""DefectDojo's JSON for each object, field by field, for 3.2 and 2.58.

Field names, order and null-vs-empty follow the recordings in shared/defectdojo: e.g. 3.2
engagements end in `cicd_*` + `tags`, 2.58 ones start with `tags`; 3.2 endpoint rows are
product↔location links with "" for empty URL parts, 2.58 rows are Endpoints with `null`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.fakedojo.parsers import dedupe_config, test_type_ids
from tests.fakedojo.state import (
    Engagement,
    FakeDojoState,
    Product,
    ProductType,
    Test,
    User,
)

Json = dict[str, Any]
NUMERICAL_SEVERITY = {"Critical": "S0", "High": "S1", "Medium": "S2", "Low": "S3", "Info": "S4"}


def iso(value: dt.datetime | None) -> str | None:
    """DRF's DateTimeField rendering (UTC as `Z`)."""
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def user_fields(user: User, version: str) -> Json:
    body: Json = {
        "id": user.id,
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "date_joined": iso(user.date_joined),
        "last_login": None,
        "is_active": user.is_active,
    }
    if version == "3.2":
        body["is_staff"] = user.is_staff
    body.update(
        is_superuser=user.is_superuser,
        token_last_reset=None,
        password_last_reset=None,
        configuration_permissions=[],
    )
    return body


def user_profile(state: FakeDojoState, user: User, version: str) -> Json:
    contact: Json | None = None
    if user.has_contact_info:
        contact = {
            "id": user.id,
            "user_profile": user_fields(user, version),
            "title": None,
            "phone_number": "",
            "cell_number": "",
            "twitter_username": None,
            "github_username": None,
            "slack_username": None,
            "slack_user_id": None,
            "block_execution": True,
        }
        if version == "3.2":
            contact["deduplication_execution_mode"] = None
        contact["force_password_reset"] = False
        if version == "3.2":
            contact["ui_use_tailwind"] = False
        contact.update(token_last_reset=None, password_last_reset=None, user=user.id)
    body: Json = {"user": user_fields(user, version), "user_contact_info": contact}
    if version == "2.58":
        body["global_role"] = (
            None
            if user.global_role is None
            else {"id": user.id, "user": user.id, "group": None, "role": user.global_role}
        )
        body["dojo_group_member"] = []
        body["product_type_member"] = [
            {"id": pt.id, "product_type": pt.id, "user": user.id, "role": pt.members[user.id]}
            for pt in state.product_types.values()
            if user.id in pt.members
        ]
        body["product_member"] = [
            {"id": p.id, "product": p.id, "user": user.id, "role": p.members[user.id]}
            for p in state.products.values()
            if user.id in p.members
        ]
    return body


def product_type(pt: ProductType, version: str) -> Json:
    body: Json = {
        "id": pt.id,
        "created": iso(pt.created),
        "updated": iso(pt.updated),
        "name": pt.name,
        "description": pt.description,
        "critical_product": pt.critical_product,
        "key_product": pt.key_product,
    }
    if version == "3.2":
        body["authorized_users"] = sorted(pt.members)
    else:
        body.update(members=sorted(pt.members), authorization_groups=[])
    return body


def product(state: FakeDojoState, p: Product, version: str) -> Json:
    findings = sorted(
        f.id for f in state.findings.values() if f.active and state.product_of_finding(f).id == p.id
    )
    body: Json = {
        "id": p.id,
        "findings_count": len(findings),
        "findings_list": findings,
        "business_criticality": None,
        "platform": None,
        "lifecycle": None,
        "origin": None,
    }
    if version == "2.58":
        body["tags"] = []
    body.update(
        {
            "product_meta": [],
            "created": iso(p.created),
            "name": p.name,
            "description": p.description,
            "prod_numeric_grade": None,
            "user_records": None,
            "revenue": None,
            "external_audience": False,
            "internet_accessible": False,
            "enable_product_tag_inheritance": False,
            "enable_simple_risk_acceptance": False,
            "enable_full_risk_acceptance": True,
            "disable_sla_breach_notifications": False,
            "product_manager": None,
            "technical_contact": None,
            "team_manager": None,
            "prod_type": p.prod_type_id,
            "sla_configuration": 1,
        }
    )
    if version == "3.2":
        body.update(authorized_users=sorted(p.members), regulations=[], tags=[])
    else:
        body.update(members=sorted(p.members), authorization_groups=[], regulations=[])
    return body


def engagement(e: Engagement, version: str) -> Json:
    body: Json = {"id": e.id}
    if version == "2.58":
        body["tags"] = []
    body.update(
        {
            "created": iso(e.created),
            "updated": iso(e.updated),
            "name": e.name,
            "description": e.description,
            "version": e.version,
            "first_contacted": None,
            "target_start": e.target_start,
            "target_end": e.target_end,
            "reason": None,
            "active": e.active,
            "tracker": None,
            "test_strategy": None,
            "threat_model": True,
            "api_test": True,
            "pen_test": True,
            "check_list": True,
            "status": e.status,
            "progress": "threat_model",
            "tmodel_path": "none",
            "done_testing": False,
            "engagement_type": e.engagement_type,
            "build_id": e.build_id,
            "commit_hash": e.commit_hash,
            "branch_tag": e.branch_tag,
            "source_code_management_uri": None,
            "deduplication_on_engagement": False,
            "lead": e.lead,
            "requester": None,
            "preset": None,
            "report_type": None,
            "product": e.product_id,
        }
    )
    if version == "3.2":
        body.update(
            cicd_scm_server=None,
            cicd_build_server=None,
            cicd_orchestration_engine=None,
            notes=[],
            files=[],
            risk_acceptance=[],
            tags=[],
        )
    else:
        body.update(
            build_server=None,
            source_code_management_server=None,
            orchestration_engine=None,
            notes=[],
            files=[],
            risk_acceptance=[],
        )
    return body


def test(t: Test, version: str) -> Json:
    body: Json = {"id": t.id}
    if version == "3.2":
        config = dedupe_config(t.scan_type)
        fields = config.hash_code_fields
        body.update(
            test_type_name=t.scan_type,
            deduplication_algorithm=config.algorithm,
            hash_code_fields=list(fields) if fields is not None else None,
        )
    else:
        body.update(tags=[], test_type_name=t.scan_type, finding_groups=[])
    body.update(
        {
            "scan_type": t.scan_type,
            "title": t.title,
            "description": None,
            "target_start": iso(t.target_start),
            "target_end": iso(t.target_end),
            "percent_complete": t.percent_complete,
            "updated": iso(t.updated),
            "created": iso(t.created),
            "version": t.version,
            "build_id": t.build_id,
            "commit_hash": t.commit_hash,
            "branch_tag": t.branch_tag,
            "engagement": t.engagement_id,
            "lead": None,
            "test_type": t.test_type_id,
            "environment": 1,
            "api_scan_configuration": None,
            "notes": [],
            "files": [],
        }
    )
    if version == "3.2":
        body.update(tags=[], finding_groups=[])
    return body


def test_type(name: str, version: str) -> Json:
    return {
        "id": test_type_ids(version)[name],
        "name": name,
        "static_tool": False,
        "dynamic_tool": False,
        "active": True,
    }
