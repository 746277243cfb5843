"""Range headers (RFC 9110 §14) read against a size, and slicing a chunk stream to a range."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from mystira_data.api.ranges import ByteRange, RangeNotSatisfiable, parse_range, sliced


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-0", (0, 0)),
        ("bytes=2-5", (2, 5)),
        ("bytes=5-", (5, 9)),
        ("bytes=-3", (7, 9)),
        ("bytes=-30", (0, 9)),  # a suffix longer than the file is the whole file
        ("bytes=8-100", (8, 9)),  # an end past the file is cut to its last byte
        ("BYTES = 1 - 2", (1, 2)),
    ],
)
def test_satisfiable_ranges(header: str, expected: tuple[int, int]) -> None:
    part = parse_range(header, 10)
    assert part is not None
    assert (part.start, part.end) == expected
    assert part.content_range == f"bytes {expected[0]}-{expected[1]}/10"


@pytest.mark.parametrize("header", [None, "items=1-2", "bytes=1-2,4-5", "bytes=-", "bytes=5-2"])
def test_ignored_headers_mean_the_whole_file(header: str | None) -> None:
    assert parse_range(header, 10) is None


@pytest.mark.parametrize(("header", "size"), [("bytes=10-", 10), ("bytes=-0", 10), ("bytes=-1", 0)])
def test_unsatisfiable_ranges(header: str, size: int) -> None:
    with pytest.raises(RangeNotSatisfiable) as caught:
        parse_range(header, size)
    assert caught.value.size == size


async def chunks(data: bytes, size: int) -> AsyncIterator[bytes]:
    for at in range(0, len(data), size):
        yield data[at : at + size]


@pytest.mark.parametrize("chunk", [1, 3, 4, 100])
@pytest.mark.parametrize(("start", "end"), [(0, 0), (0, 25), (3, 9), (10, 17), (25, 25)])
async def test_sliced_yields_exactly_the_range(chunk: int, start: int, end: int) -> None:
    data = bytes(range(26))
    got = b"".join([c async for c in sliced(chunks(data, chunk), ByteRange(start, end, 26))])
    assert got == data[start : end + 1]
