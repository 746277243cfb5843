"""`mystira placement` reads the workload another process recorded (embedded stores)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from typer.testing import CliRunner

from mystira_data import catalog
from mystira_data.bootstrap import open_platform
from mystira_data.cli.app import app
from mystira_data.settings import load_settings

runner = CliRunner()
LOW_BARS = {
    "MYSTIRA__PLACEMENT__MINSAMPLES": "5",
    "MYSTIRA__PLACEMENT__UPDATEHEAVYWRITESPERMIN": "1",
}


def serve_some_traffic(data: Path) -> None:
    """Another 'process': writes through the repository, flushed as it closes."""

    async def play() -> None:
        async with open_platform(load_settings(data_dir=data), provision=True) as poly:
            await poly.repository.create("CompassTrackings", {"id": "t1", "axis": "honesty"})
            for n in range(9):
                doc = {"id": "t1", "axis": "honesty", "currentValue": float(n)}
                await poly.repository.upsert("CompassTrackings", doc)

    asyncio.run(play())


def test_placement_json_lists_every_container_and_the_table_shows_the_flag(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    serve_some_traffic(data)
    result = runner.invoke(app, ["--data-dir", str(data), "placement", "--json"], env=LOW_BARS)
    assert result.exit_code == 0, result.stderr
    body = json.loads(result.stdout)
    assert [c["container"] for c in body["containers"]] == list(catalog.BY_NAME)
    assert body["thresholds"]["MinSamples"] == 5
    for c in body["containers"]:
        assert c["phase"] == "CosmosOnly"
        assert c["recommended"] == catalog.get(c["container"]).placement.value
        assert {"readsPerMin", "writesPerMin", "updateShare", "samples"} <= set(c["evidence"])
    tracking = next(c for c in body["containers"] if c["container"] == "CompassTrackings")
    assert tracking["evidence"]["updateShare"] == 0.9
    assert tracking["evidence"]["nestingDepth"]["p50"] >= 1
    assert [f["code"] for f in tracking["flags"]] == ["update-heavy"]

    table = runner.invoke(app, ["--data-dir", str(data), "placement"], env=LOW_BARS)
    assert table.exit_code == 0, table.stderr
    assert "flag CompassTrackings: update-heavy: 0.90 of " in table.stdout


def test_a_window_that_is_not_positive_is_a_usage_error(tmp_path: Path) -> None:
    for bad in ("0", "-5", "1e9", "nan"):
        result = runner.invoke(app, ["--data-dir", str(tmp_path), "placement", "--window", bad])
        assert result.exit_code == 2
        assert "--window must be more than 0 and at most 10080 minutes" in result.stderr
