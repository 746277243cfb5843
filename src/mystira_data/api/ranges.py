"""HTTP range requests (RFC 9110 §14) for downloads: one byte range per request.

``parse_range`` reads a ``Range`` header against the resource's size: None means "send the
whole thing" (no header, a unit other than bytes, a malformed or multi-range header: the RFC
lets a server ignore those), a `ByteRange` the part to send, and `RangeNotSatisfiable` a
range wholly past the end (416 with ``Content-Range: bytes */size``).
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass

_SPEC = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


class RangeNotSatisfiable(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(f"no byte of the range is within the {size} bytes")
        self.size = size


@dataclass(frozen=True)
class ByteRange:
    """Bytes ``start`` to ``end`` inclusive, of a resource of ``size`` bytes."""

    start: int
    end: int
    size: int

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    @property
    def content_range(self) -> str:
        return f"bytes {self.start}-{self.end}/{self.size}"


def parse_range(header: str | None, size: int) -> ByteRange | None:
    if header is None:
        return None
    found = _SPEC.match(header)
    if found is None:
        return None  # several ranges, another unit, or garbage: answer with the whole
    first, last = found.group(1), found.group(2)
    if not first and not last:
        return None
    if not first:  # "-N": the last N bytes
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable(size)
        return ByteRange(max(0, size - suffix), size - 1, size)
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if last and int(last) < start:
        return None  # an invalid range-spec is ignored, like a malformed header
    if start >= size:
        raise RangeNotSatisfiable(size)
    return ByteRange(start, end, size)


async def sliced(chunks: AsyncIterator[bytes], part: ByteRange) -> AsyncIterator[bytes]:
    """The bytes of ``part`` out of a stream of the whole resource.

    The blob port streams from the start, so bytes before the range are read and dropped;
    reading stops at the range's end.
    """
    position = 0
    try:
        async for chunk in chunks:
            begin, finish = position, position + len(chunk)
            position = finish
            if finish <= part.start:
                continue
            yield chunk[max(0, part.start - begin) : part.end + 1 - begin]
            if finish > part.end:
                return
    finally:
        if isinstance(chunks, AsyncGenerator):
            await chunks.aclose()  # stopping early: let the store close its file or stream
