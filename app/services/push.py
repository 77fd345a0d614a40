"""Pushing one product's share of an upload into DefectDojo (design section 2, step 4).

The share is written as a subset document in the scan's own format, so DefectDojo's parser
and deduplication handle it exactly as a native import. The target is the engagement named
`engagement_name` in the product (found or created) and, in it, the test keyed by scan type
and scope title: reimported when it exists, imported otherwise. Every attempt looks for the
test again, so a retry after an import that did land becomes a harmless reimport of the same
share and never a second test.

No database transaction is open while DefectDojo is called: the caller records the outcome
in a short transaction of its own afterwards.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

from app import metrics
from app.dojo.client import DojoClient
from app.dojo.errors import DojoError, DojoNotFound, DojoPermissionDenied
from app.dojo.models import ImportOptions, ImportResult
from app.dojo.retry import RetryPolicy
from app.formats.base import ScanFormat
from app.schemas import UploadOptions


@dataclass(frozen=True, slots=True)
class PushTarget:
    product_id: int
    test_title: str
    record_indexes: frozenset[int]


@dataclass(frozen=True, slots=True)
class PushOutcome:
    status: Literal["pushed", "failed"]
    reason: Literal["forbidden", "push_failed"] | None = None
    engagement_id: int | None = None
    test_id: int | None = None
    push: Literal["import", "reimport"] | None = None
    statistics: dict[str, object] | None = None
    error: str | None = None


def import_options(scan_type: str, options: UploadOptions, test_title: str) -> ImportOptions:
    return ImportOptions(
        scan_type=scan_type,
        scan_date=options.scan_date,
        minimum_severity=options.minimum_severity,
        active=options.active,
        verified=options.verified,
        tags=tuple(options.tags),
        version=options.version,
        branch_tag=options.branch_tag,
        commit_hash=options.commit_hash,
        build_id=options.build_id,
        group_by=options.group_by,
        close_old_findings=options.close_old_findings,
        test_title=test_title,
    )


_SUBSET_SUFFIXES = {"xml": (".xml", ".nessus"), "csv": (".csv",), "json": (".json", ".jsonl")}


def subset_file_name(file_name: str, fmt: ScanFormat) -> str:
    """The name the subset is sent under. Some of DefectDojo's parsers choose their variant
    by extension (Tenable: .xml/.nessus or .csv; Generic: .json or .csv), so a file uploaded
    without the usual extension gets it appended."""
    accepted = _SUBSET_SUFFIXES.get(fmt.name.rsplit("-", 1)[-1], ())
    if not accepted or file_name.lower().endswith(accepted):
        return file_name
    return file_name + accepted[0]


async def push_share(
    dojo: DojoClient,
    retry: RetryPolicy,
    *,
    fmt: ScanFormat,
    source: Path,
    file_name: str,
    scan_type: str,
    options: UploadOptions,
    target: PushTarget,
) -> PushOutcome:
    """Push one share with the caller's client; never raises for DefectDojo's answers."""
    started = time.perf_counter()
    outcome = await _push_share(
        dojo,
        retry,
        fmt=fmt,
        source=source,
        file_name=file_name,
        scan_type=scan_type,
        options=options,
        target=target,
    )
    metrics.PUSH_SECONDS.observe(time.perf_counter() - started)
    metrics.PUSHES.labels(outcome.status, outcome.push or "none").inc()
    return outcome


async def _push_share(
    dojo: DojoClient,
    retry: RetryPolicy,
    *,
    fmt: ScanFormat,
    source: Path,
    file_name: str,
    scan_type: str,
    options: UploadOptions,
    target: PushTarget,
) -> PushOutcome:
    with tempfile.TemporaryFile() as subset:
        with source.open("rb") as original:
            fmt.write_subset(original, set(target.record_indexes), subset)
        try:
            return await _push(
                dojo,
                retry,
                subset=subset,
                file_name=subset_file_name(file_name, fmt),
                scan_type=scan_type,
                options=options,
                target=target,
            )
        except (DojoPermissionDenied, DojoNotFound) as error:
            return PushOutcome(
                status="failed",
                reason="forbidden",
                error=f"DefectDojo refused the push: {error.message}",
            )
        except DojoError as error:
            return PushOutcome(status="failed", reason="push_failed", error=str(error))


async def _push(
    dojo: DojoClient,
    retry: RetryPolicy,
    *,
    subset: IO[bytes],
    file_name: str,
    scan_type: str,
    options: UploadOptions,
    target: PushTarget,
) -> PushOutcome:
    engagement_id = await retry.run(
        lambda: _engagement(dojo, target.product_id, options.engagement_name)
    )
    form = import_options(scan_type, options, target.test_title)

    async def attempt() -> tuple[Literal["import", "reimport"], ImportResult]:
        test = await dojo.find_test(engagement_id, target.test_title, scan_type)
        if test is None:
            return "import", await dojo.import_scan(subset, file_name, form, engagement_id)
        return "reimport", await dojo.reimport_scan(subset, file_name, form, test.id)

    kind, result = await retry.run(attempt)
    return PushOutcome(
        status="pushed",
        engagement_id=result.engagement_id or engagement_id,
        test_id=result.test_id,
        push=kind,
        statistics=result.statistics,
    )


async def _engagement(dojo: DojoClient, product_id: int, name: str) -> int:
    found = await dojo.find_engagement(product_id, name)
    if found is not None:
        return found.id
    return (await dojo.create_engagement(product_id, name)).id
