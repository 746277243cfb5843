"""`mystira media` on the embedded defaults (filesystem blobs + SQLite documents)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from mystira_data.cli.app import app

runner = CliRunner()


def mystira(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--data-dir", str(tmp_path / "data"), *args])
    return result.exit_code, result.stdout, result.stderr


def test_upload_list_get_and_check(tmp_path: Path) -> None:
    image = tmp_path / "dragon.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 2048)
    code, out, err = mystira(tmp_path, "media", "upload", str(image), "--type", "image")
    assert code == 0, err
    asset = json.loads(out)
    assert asset["mediaType"] == "image"
    assert asset["fileSizeBytes"] == image.stat().st_size
    code, out, _ = mystira(tmp_path, "media", "list")
    assert asset["id"] in out
    code, out, _ = mystira(tmp_path, "media", "get", asset["id"])
    assert json.loads(out)["url"] == asset["url"]
    code, out, _ = mystira(tmp_path, "media", "check")
    assert code == 0
    assert "orphan blobs: 0; documents without blob: 0" in out
    (tmp_path / "data" / "blobs" / "data" / asset["url"]).unlink()
    code, out, _ = mystira(tmp_path, "media", "check")
    assert code == 1
    assert "documents without blob: 1" in out


def test_upload_refuses_unknown_type_and_oversized_files(tmp_path: Path) -> None:
    image = tmp_path / "x.png"
    image.write_bytes(b"\x89PNG" + b"\0" * 100)
    code, _, err = mystira(tmp_path, "media", "upload", str(image), "--type", "hologram")
    assert code == 2
    assert "unknown media type 'hologram'" in err
    result = runner.invoke(
        app, ["--data-dir", str(tmp_path / "d"), "media", "upload", str(image), "--type", "image"],
        env={"MYSTIRA__MEDIA__MAXUPLOADBYTES": "10"},
    )
    assert result.exit_code == 2
    assert "limit is 10" in result.stderr
    assert "Traceback" not in result.stderr
