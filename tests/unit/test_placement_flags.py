"""The placement report's arithmetic and its flags, on counts made up here."""

from __future__ import annotations

from mystira_data.catalog import Placement
from mystira_data.placement.evidence import Evidence
from mystira_data.placement.flags import flags
from mystira_data.placement.recorded import Workload, bucket_quantile, exact_quantile
from mystira_data.placement_settings import PlacementThresholds

LIMITS = PlacementThresholds()


def test_quantiles_interpolate_inside_size_buckets_and_are_exact_for_depths() -> None:
    assert bucket_quantile(0.5, {}) is None
    assert bucket_quantile(0.5, {4096: 10}) == 3072  # halfway between 2048 and 4096
    assert bucket_quantile(0.99, {128: 99, 65536: 1}) == 128
    assert bucket_quantile(0.995, {128: 99, 65536: 1}) == 49152
    assert exact_quantile(0.5, {2: 3, 5: 4}) == 5
    assert exact_quantile(0.5, {2: 4, 5: 3}) == 2


def test_an_update_heavy_document_container_is_flagged_with_its_numbers() -> None:
    ev = Evidence(Workload(inserts=100, updates=1100, sizes={1024: 1200}), minutes=1.0)
    [flag] = flags(Placement.DOCUMENT, ev, LIMITS)
    assert flag.code == "update-heavy"
    assert flag.message == (
        "update-heavy: 0.92 of 1,200 writes/min are updates; consider relational"
    )
    assert flag.suggests is Placement.RELATIONAL
    quiet = Evidence(Workload(inserts=1, updates=50), minutes=10.0)  # 5.1 writes/min
    assert flags(Placement.DOCUMENT, quiet, LIMITS) == []


def test_cross_partition_reads_of_a_document_container_are_flagged() -> None:
    ev = Evidence(Workload(reads=100, cross_partition=80), minutes=1.0)
    [flag] = flags(Placement.DOCUMENT, ev, LIMITS)
    assert flag.message.startswith("cross-partition: 80 of 100 reads/min fan out")


def test_a_relational_candidate_is_flagged_deep_or_large_but_never_for_being_read() -> None:
    read_heavy = Evidence(
        Workload(reads=100_000, cross_partition=90_000, inserts=5, sizes={512: 5}), 1.0
    )
    assert flags(Placement.RELATIONAL, read_heavy, LIMITS) == []
    deep = Evidence(Workload(inserts=30, depths={7: 20, 9: 10}, sizes={512: 30}), 1.0)
    [flag] = flags(Placement.RELATIONAL, deep, LIMITS)
    assert flag.message == "deeply nested: depth p50 7 (max 9) of 30 documents written; " + (
        "consider document"
    )
    large = Evidence(Workload(inserts=30, depths={2: 30}, sizes={131072: 30}), 1.0)
    [flag] = flags(Placement.RELATIONAL, large, LIMITS)
    assert flag.code == "large-documents"
    assert "p99 130,417 bytes" in flag.message


def test_too_few_samples_make_no_verdict() -> None:
    ev = Evidence(Workload(updates=19), minutes=0.01)  # 1,900 writes/min, but 19 writes
    assert flags(Placement.DOCUMENT, ev, LIMITS) == []
    assert ev.as_json()["updateShare"] == 1.0
    assert Evidence(Workload(), 1.0).as_json()["updateShare"] is None
