"""The upload summary of design section 2b, from stored state or from a dry-run plan."""

from __future__ import annotations

from app.schemas import (
    ProductResult,
    RecordCounts,
    UnassignedSummary,
    UploadSummary,
    UserRef,
)
from app.store.models import ProductPush, Upload

UNASSIGNED_URL = "/api/v2/smart_upload/unassigned_findings/?upload={id}"


def summarise(upload: Upload, pushes: list[ProductPush], *, root_path: str = "") -> UploadSummary:
    return UploadSummary(
        id=upload.id,
        status=upload.status,
        scan_type=upload.scan_type,
        file_name=upload.file_name,
        file_sha256=upload.file_sha256,
        file_size=upload.file_size,
        scope_title=upload.scope_title,
        created_at=upload.created_at,
        finished_at=upload.finished_at,
        uploaded_by=UserRef(id=upload.uploaded_by_id, username=upload.uploaded_by_username),
        records=RecordCounts(
            parsed=upload.records_parsed,
            dropped_below_minimum_severity=upload.records_dropped,
            routed=upload.records_routed,
            unassigned=upload.records_unassigned,
            pushed=upload.records_pushed,
        ),
        products=[_product(push) for push in pushes],
        unassigned=UnassignedSummary(
            total=upload.records_unassigned,
            by_reason=dict(upload.unassigned_by_reason),
            url=root_path + UNASSIGNED_URL.format(id=upload.id),
        ),
        error=upload.error,
        step=upload.step,
    )


def _product(push: ProductPush) -> ProductResult:
    return ProductResult(
        product_id=push.product_id,
        product_name=push.product_name,
        engagement_id=push.engagement_id,
        test_id=push.test_id,
        test_title=push.test_title,
        push=push.push,
        status=push.status,
        records=len(push.record_indexes),
        hosts=list(push.hosts),
        statistics=push.statistics,
        error=push.error,
        attempts=push.attempts,
    )
