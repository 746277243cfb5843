"""The writer process's framing: length-prefixed frames, however the pipe splits them."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mystira_data.polyglot.write.writer_process import (
    HEADER,
    MAX_FRAME,
    ProtocolError,
    frame,
    split_frames,
)


@given(
    payloads=st.lists(st.binary(max_size=300), max_size=8),
    cuts=st.lists(st.integers(min_value=0, max_value=3000), max_size=10),
)
def test_frames_come_out_whole_and_in_order_whatever_the_chunking(
    payloads: list[bytes], cuts: list[int]
) -> None:
    stream = b"".join(frame(p) for p in payloads)
    bounds = sorted({0, len(stream), *(c for c in cuts if c < len(stream))})
    buf, out = bytearray(), []
    for start, end in itertools.pairwise(bounds):
        buf += stream[start:end]
        out += split_frames(buf)
    assert out == payloads
    assert buf == bytearray()  # nothing left over once the stream is complete


def test_a_partial_frame_waits_for_the_rest() -> None:
    buf = bytearray(frame(b"hello")[:-2])
    assert split_frames(buf) == []
    buf += b"lo"
    assert split_frames(buf) == [b"hello"]


def test_an_oversized_frame_is_refused() -> None:
    with pytest.raises(ProtocolError):
        split_frames(bytearray(HEADER.pack(MAX_FRAME + 1)))
