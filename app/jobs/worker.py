"""The worker: claims queued uploads (or ones whose worker died) and runs them.

Runs inside the API process by default, or alone as `smart-upload worker`. Claims use
`FOR UPDATE SKIP LOCKED` with a lease, so any number of workers on any number of machines
can share one Postgres.
"""

from __future__ import annotations

import asyncio
import logging

from app.formats.base import ScanFormatError
from app.services.context import Context
from app.services.processing import process_upload
from app.store import uploads

log = logging.getLogger(__name__)


async def claim_and_run_one(ctx: Context) -> bool:
    """Run one waiting upload to its end; False when none was waiting."""
    async with ctx.sessions.begin() as session:
        upload = await uploads.claim(session, worker_id=ctx.worker_id, lease=uploads.LEASE)
        upload_id = upload.id if upload is not None else None
    if upload_id is None:
        return False
    log.info("worker.upload.start", extra={"upload_id": upload_id})
    try:
        await process_upload(ctx, upload_id)
    except ScanFormatError:
        pass  # recorded on the upload as its error
    except Exception:
        log.exception("worker.upload.failed", extra={"upload_id": upload_id})
    return True


async def run(ctx: Context, *, poll_seconds: float) -> None:
    """Work until cancelled: run waiting uploads one after another, then poll."""
    while True:
        try:
            if await claim_and_run_one(ctx):
                continue
        except Exception:
            log.exception("worker.poll.failed")
        await asyncio.sleep(poll_seconds)


def run_worker(workers: int) -> None:
    """Entry point of `smart-upload worker`: `workers` concurrent workers in one process."""
    from app.main import build_context, close_context
    from app.settings import Settings

    async def main() -> None:
        settings = Settings()
        ctx, http = await build_context(settings)
        try:
            await asyncio.gather(
                *(run(ctx, poll_seconds=settings.worker_poll_seconds) for _ in range(workers))
            )
        finally:
            await close_context(ctx, http)

    asyncio.run(main())
