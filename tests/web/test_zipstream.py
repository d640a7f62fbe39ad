"""stream_zip without a server: ZIP64 where a member is too big for a plain entry."""

from __future__ import annotations

import io
import os
import zipfile
from functools import partial

from training.run_files import folder_entries, open_inside
from training.zipstream import stream_zip


def test_a_member_past_the_zip64_limit_gets_zip64_records(tmp_path, monkeypatch):
    # Lower the 2 GiB limit so a few MB stand for a file too big for a plain entry: a
    # member opened without its size known would fail with "File size too large".
    monkeypatch.setattr(zipfile, "ZIP64_LIMIT", 1 << 20)
    folder = tmp_path / "adapter"
    folder.mkdir()
    weights = os.urandom(3 << 20)
    (folder / "adapter_model.safetensors").write_bytes(weights)
    (folder / "adapter_config.json").write_text("{}")
    data = b"".join(stream_zip(folder_entries(folder), partial(open_inside, roots=[tmp_path.resolve()])))
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.read("adapter_model.safetensors") == weights
    assert archive.read("adapter_config.json") == b"{}"
    assert archive.testzip() is None
