"""`POST /api/v2/import-scan/` and `POST /api/v2/reimport-scan/`.

Order of checks as in DefectDojo: authentication; the import permission (it resolves the
engagement/test before validation, so an unknown id is a 400 *list* and a foreign one a
403); field validation (400 with `message`); the file is required; parsing (any failure
is a 500 with DefectDojo's generic body); then the import itself, answered 201 with the
inputs echoed the way DRF renders the serializer (booleans always, unsent text omitted).
`auto_create_context` is not emulated: without an existing target the double answers the
400 DefectDojo gives when auto-creation is off.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakedojo.context import Context, FormValue, context, read_data
from tests.fakedojo.faults import INTERNAL_ERROR_BODY
from tests.fakedojo.http import NOT_PERMITTED, PRO_SUPPORT, ApiError, detail, validation_error
from tests.fakedojo.importer import Importer, ImportOptions, ImportOutcome
from tests.fakedojo.parsed import ParsedFinding, ParserError
from tests.fakedojo.parsers import parse_scan, scan_type_names
from tests.fakedojo.state import Engagement, Test, User

SEVERITIES = ("Info", "Low", "Medium", "High", "Critical")
TRUE_VALUES = {"t", "y", "yes", "true", "on", "1"}
FALSE_VALUES = {"f", "n", "no", "false", "off", "0"}
BOOLEANS = (
    "active",
    "verified",
    "auto_create_context",
    "deduplication_on_engagement",
    "push_to_jira",
    "create_finding_groups_for_all_findings",
    "apply_tags_to_findings",
    "apply_tags_to_endpoints",
    "close_old_findings",
    "close_old_findings_product_scope",
    "do_not_reactivate",
)
ECHOED_IF_SENT = (
    "product_type_name",
    "product_name",
    "engagement_name",
    "engagement_end_date",
    "source_code_management_uri",
    "test_title",
    "environment",
    "build_id",
    "branch_tag",
    "commit_hash",
    "service",
    "group_by",
)
CONNECTOR_SCAN_TYPES = frozenset({"Tenable Scan"})


def _bool(data: dict[str, FormValue], name: str, default: bool | None) -> bool | None:
    raw = data.get(name)
    if raw is None or isinstance(raw, UploadFile | list):
        return default
    value = raw.strip().lower()
    if value in TRUE_VALUES:
        return True
    if value in FALSE_VALUES:
        return False
    raise validation_error({name: [("Must be a valid boolean.", "invalid")]})


def _text(data: dict[str, FormValue], name: str) -> str | None:
    raw = data.get(name)
    return raw if isinstance(raw, str) and raw != "" else None


def _id(data: dict[str, FormValue], name: str) -> int | None:
    raw = _text(data, name)
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        raise ApiError(400, [f"invalid literal for int() with base 10: '{raw}'"]) from None


def _validate(ctx: Context, data: dict[str, FormValue], reimport: bool) -> ImportOptions:
    """The serializer's field validation, then its `validate()` (file required)."""
    errors: dict[str, list[tuple[str, str]]] = {}
    scan_type = _text(data, "scan_type")
    if scan_type is None:
        errors["scan_type"] = [("This field is required.", "required")]
    elif scan_type not in scan_type_names(ctx.version):
        errors["scan_type"] = [(f'"{scan_type}" is not a valid choice.', "invalid_choice")]
    minimum = _text(data, "minimum_severity") or "Info"
    if minimum not in SEVERITIES:
        errors["minimum_severity"] = [(f'"{minimum}" is not a valid choice.', "invalid_choice")]
    scan_date = None
    if (raw_date := _text(data, "scan_date")) is not None:
        try:
            scan_date = dt.date.fromisoformat(raw_date)
        except ValueError:
            errors["scan_date"] = [
                ("Date has wrong format. Use one of these formats instead: YYYY-MM-DD.", "invalid")
            ]
        else:
            if scan_date > dt.datetime.now(dt.UTC).date():
                errors["scan_date"] = [("The scan_date cannot be in the future!", "invalid")]
    if "file" in data and not isinstance(data["file"], UploadFile):
        errors["file"] = [
            ("The submitted data was not a file. Check the encoding type on the form.", "invalid")
        ]
    flags: dict[str, bool | None] = {}
    for name in BOOLEANS:
        try:
            flags[name] = _bool(data, name, None)
        except ApiError:
            errors[name] = [("Must be a valid boolean.", "invalid")]
    if errors:
        raise validation_error(errors)
    assert scan_type is not None
    if not isinstance(data.get("file"), UploadFile):
        raise validation_error(
            {
                "non_field_errors": [
                    (f"Uploading a Report File is required for {scan_type}", "invalid")
                ]
            }
        )
    close_default = reimport
    return ImportOptions(
        scan_type=scan_type,
        minimum_severity=minimum,
        active=flags["active"],
        verified=flags["verified"],
        scan_date=scan_date,
        test_title=_text(data, "test_title"),
        version=_text(data, "version"),
        build_id=_text(data, "build_id"),
        commit_hash=_text(data, "commit_hash"),
        branch_tag=_text(data, "branch_tag"),
        close_old_findings=close_default
        if flags["close_old_findings"] is None
        else bool(flags["close_old_findings"]),
        close_old_findings_product_scope=bool(flags["close_old_findings_product_scope"]),
        do_not_reactivate=bool(flags["do_not_reactivate"]),
    )


def _import_target(ctx: Context, user: User, data: dict[str, FormValue]) -> Engagement:
    """UserHasImportPermission: find the engagement, then check "import" on it."""
    engagement_id = _id(data, "engagement")
    if engagement_id is not None:
        engagement = ctx.state.engagements.get(engagement_id)
        if engagement is None:
            raise ApiError(400, [f'Engagement "{engagement_id}" does not exist'])
    else:
        product = next(
            (p for p in ctx.state.products.values() if p.name == _text(data, "product_name")), None
        )
        engagement = (
            None
            if product is None
            else next(
                (
                    e
                    for e in ctx.state.engagements.values()
                    if e.product_id == product.id and e.name == _text(data, "engagement_name")
                ),
                None,
            )
        )
        if engagement is None:
            raise ApiError(
                400, ["Need engagement_id or product_name + engagement_name to perform import"]
            )
    name = _text(data, "engagement_name")
    if name is not None and engagement.name != name:
        raise ApiError(
            400,
            [
                "The provided identifiers are inconsistent — the engagement name "
                "does not match the specified engagement."
            ],
        )
    if not ctx.state.can_import(user, ctx.state.products[engagement.product_id], ctx.version):
        raise detail(403, NOT_PERMITTED)
    return engagement


def _reimport_target(ctx: Context, user: User, data: dict[str, FormValue]) -> Test:
    """UserHasReimportPermission: find the test, then check "import" on it."""
    test_id = _id(data, "test")
    if test_id is not None:
        test = ctx.state.tests.get(test_id)
        if test is None:
            raise ApiError(400, [f'Test "{test_id}" does not exist'])
    else:
        test = next(
            (
                t
                for t in sorted(ctx.state.tests.values(), key=lambda t: -t.id)
                if t.scan_type == _text(data, "scan_type")
                and ctx.state.product_of_test(t).name == _text(data, "product_name")
                and ctx.state.engagements[t.engagement_id].name == _text(data, "engagement_name")
                and (_text(data, "test_title") in (None, t.title))
            ),
            None,
        )
        if test is None:
            raise ApiError(
                400,
                ["Need test_id or product_name + engagement_name + scan_type to perform reimport"],
            )
    if not ctx.state.can_import(user, ctx.state.product_of_test(test), ctx.version):
        raise detail(403, NOT_PERMITTED)
    return test


async def _parse(options: ImportOptions, data: dict[str, FormValue]) -> list[ParsedFinding]:
    upload = data["file"]
    assert isinstance(upload, UploadFile)
    content = await upload.read()
    try:
        return parse_scan(options.scan_type, upload.filename or "", content)
    except ParserError:
        raise ApiError(500, INTERNAL_ERROR_BODY) from None


def _answer(
    ctx: Context,
    data: dict[str, FormValue],
    options: ImportOptions,
    outcome: ImportOutcome,
    *,
    reimport: bool,
) -> JSONResponse:
    test = outcome.test
    engagement = ctx.state.engagements[test.engagement_id]
    product = ctx.state.products[engagement.product_id]
    sent = {name: data[name] for name in ECHOED_IF_SENT if _text(data, name) is not None}
    flag = {name: bool(_bool(data, name, False)) for name in BOOLEANS}
    body: dict[str, Any] = {}
    if options.scan_date is not None:
        body["scan_date"] = options.scan_date.isoformat()
    body.update(
        minimum_severity=options.minimum_severity,
        active=flag["active"],
        verified=flag["verified"],
        endpoint_to_add=None,
    )
    body.update({k: sent[k] for k in ECHOED_IF_SENT[:6] if k in sent})
    body.update(
        auto_create_context=flag["auto_create_context"],
        deduplication_on_engagement=flag["deduplication_on_engagement"],
        lead=None,
        push_to_jira=flag["push_to_jira"],
    )
    if ctx.version == "3.2":
        body["deduplication_execution_mode"] = None
    body.update({k: sent[k] for k in ECHOED_IF_SENT[6:10] if k in sent})
    body["api_scan_configuration"] = None
    body.update({k: sent[k] for k in ECHOED_IF_SENT[10:] if k in sent})
    body.update(
        create_finding_groups_for_all_findings=_bool(
            data, "create_finding_groups_for_all_findings", True
        ),
        test_id=test.id,
        engagement_id=engagement.id,
        product_id=product.id,
        product_type_id=product.prod_type_id,
        statistics=outcome.statistics,
    )
    if ctx.version == "3.2":
        body["deduplication_complete"] = True
    body["pro"] = [
        f"Did you know, Pro has an automated no-code connector for {options.scan_type}? "
        "Try today for free or email us at hello@defectdojo.com"
        if options.scan_type in CONNECTOR_SCAN_TYPES
        else PRO_SUPPORT
    ]
    body.update(
        apply_tags_to_findings=flag["apply_tags_to_findings"],
        apply_tags_to_endpoints=flag["apply_tags_to_endpoints"],
    )
    if reimport:
        body["do_not_reactivate"] = options.do_not_reactivate
        body.update(scan_type=options.scan_type, test=test.id)
    else:
        body.update(scan_type=options.scan_type, engagement=engagement.id)
    if "tags" in data:
        body["tags"] = data["tags"]
    body.update(
        close_old_findings=options.close_old_findings,
        close_old_findings_product_scope=options.close_old_findings_product_scope,
    )
    if options.version is not None:
        body["version"] = options.version
    if not reimport:
        body["test"] = test.id
    return JSONResponse(body, status_code=201)


async def _pause(ctx: Context, outcome: ImportOutcome) -> None:
    if ctx.latency is not None:
        await asyncio.sleep(ctx.latency.spend(outcome.findings, outcome.endpoint_statuses))


async def import_scan(request: Request) -> Response:
    ctx = context(request)
    user = ctx.user(request)
    data = await read_data(request)
    engagement = _import_target(ctx, user, data)
    options = _validate(ctx, data, reimport=False)
    parsed = await _parse(options, data)
    outcome = Importer(ctx.state, user, ctx.version, options).import_scan(engagement, parsed)
    await _pause(ctx, outcome)
    return _answer(ctx, data, options, outcome, reimport=False)


async def reimport_scan(request: Request) -> Response:
    ctx = context(request)
    user = ctx.user(request)
    data = await read_data(request)
    test = _reimport_target(ctx, user, data)
    options = _validate(ctx, data, reimport=True)
    parsed = await _parse(options, data)
    outcome = Importer(ctx.state, user, ctx.version, options).reimport_scan(test, parsed)
    await _pause(ctx, outcome)
    return _answer(ctx, data, options, outcome, reimport=True)


ROUTES = [
    Route("/api/v2/import-scan/", import_scan, methods=["POST"]),
    Route("/api/v2/reimport-scan/", reimport_scan, methods=["POST"]),
]
