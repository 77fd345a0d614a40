"""Uploaded files kept in Postgres as ordered, individually compressed chunks.

Chunks are compressed one by one so a file can be written and read back in a stream without
ever holding it whole; zlib level 1 keeps the service's CPU time small next to DefectDojo's.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator
from typing import BinaryIO

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.store.models import UploadChunk

COMPRESSION_LEVEL = 1


async def store_file(
    session: AsyncSession, *, upload_id: int, source: BinaryIO, chunk_bytes: int
) -> None:
    """Copy a local file into the upload's chunks, one chunk in memory at a time."""
    seq = 0
    while chunk := source.read(chunk_bytes):
        await session.execute(
            insert(UploadChunk).values(
                upload_id=upload_id, seq=seq, data=zlib.compress(chunk, COMPRESSION_LEVEL)
            )
        )
        seq += 1


async def iter_file(session: AsyncSession, *, upload_id: int) -> AsyncIterator[bytes]:
    """The upload's bytes, chunk by chunk, in order."""
    result = await session.stream_scalars(
        select(UploadChunk.data)
        .where(UploadChunk.upload_id == upload_id)
        .order_by(UploadChunk.seq)
        .execution_options(yield_per=4)
    )
    async for data in result:
        yield zlib.decompress(data)


async def drop_file(session: AsyncSession, *, upload_id: int) -> None:
    await session.execute(delete(UploadChunk).where(UploadChunk.upload_id == upload_id))
