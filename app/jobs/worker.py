"""The worker: claims queued uploads and action jobs (or ones whose worker died) and runs
them.

Runs inside the API process by default (`SMART_UPLOAD_RUN_WORKER=false` turns that off), or
alone as `smart-upload worker --workers N`. Claims use `FOR UPDATE SKIP LOCKED` with a lease
renewed by a heartbeat, so any number of workers on any number of machines can share one
Postgres: each upload or action job is run by one of them at a time, and one whose worker
died is resumed by another once its lease expires, from the step it had recorded.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from app.formats.base import ScanFormatError
from app.services import action_jobs
from app.services.context import Context
from app.services.processing import give_up, process_upload
from app.services.runs import lease, new_claim
from app.store import uploads

log = logging.getLogger(__name__)


async def claim_and_run_one(ctx: Context) -> bool:
    """Run one waiting upload, or else one waiting action job, to its end; False when
    neither was waiting."""
    return await _claim_and_run_upload(ctx) or await _claim_and_run_action(ctx)


async def _claim_and_run_upload(ctx: Context) -> bool:
    claim = new_claim(ctx)
    async with ctx.sessions.begin() as session:
        upload = await uploads.claim(session, claim=claim, lease=lease(ctx))
        if upload is None:
            return False
        upload_id = upload.id
        exhausted = upload.attempts > ctx.settings.max_attempts
        if exhausted:
            await give_up(ctx, session, upload)
    if exhausted:
        log.error("worker.upload.abandoned", extra={"upload_id": upload_id})
        return True
    log.info("worker.upload.start", extra={"upload_id": upload_id, "claim": claim})
    try:
        await process_upload(ctx, upload_id, claim=claim)
    except ScanFormatError:
        pass  # recorded on the upload as its error
    except Exception:
        log.exception("worker.upload.failed", extra={"upload_id": upload_id})
    return True


async def _claim_and_run_action(ctx: Context) -> bool:
    """An action job runs with its caller's own token (sealed on the job), never the
    service's; one whose worker died resumes from what its journal recorded."""
    claimed = await action_jobs.claim_next(ctx)
    if claimed is None:
        return False
    if not claimed.abandoned:
        await action_jobs.run(ctx, claimed.job_id, claim=claimed.claim)
    return True


async def run(ctx: Context, *, poll_seconds: float) -> None:
    """Work until cancelled: run waiting uploads and action jobs one after another, then
    poll."""
    while True:
        try:
            if await claim_and_run_one(ctx):
                continue
        except Exception:
            log.exception("worker.poll.failed")
        await asyncio.sleep(poll_seconds)


def run_worker(workers: int) -> None:
    """Entry point of `smart-upload worker`: `workers` concurrent workers in one process,
    until SIGTERM or SIGINT. An upload interrupted by the stop is resumed by the next worker
    to claim it after its lease expires."""
    from app.main import build_context, close_context
    from app.observability import configure_logging
    from app.settings import Settings

    if workers < 1:
        raise ValueError("workers must be at least 1")

    async def main() -> None:
        settings = Settings()
        configure_logging(settings.log_level)
        ctx, http = await build_context(settings)
        tasks = [
            asyncio.create_task(run(ctx, poll_seconds=settings.worker_poll_seconds))
            for _ in range(workers)
        ]
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, lambda: [task.cancel() for task in tasks])
        log.info("worker.start", extra={"workers": workers, "worker_id": ctx.worker_id})
        try:
            await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            await close_context(ctx, http)

    asyncio.run(main())
