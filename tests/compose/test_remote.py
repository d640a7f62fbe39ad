"""The server client's pieces that need no server: its config file, the event-stream
reader, download names, and the light import (no Django)."""

from __future__ import annotations

import io
import json
import stat
import subprocess
import sys

import pytest

from compose import remote


def test_the_config_file_is_its_owners_alone_and_the_environment_overrides_it(tmp_path):
    env = {"XDG_CONFIG_HOME": str(tmp_path)}
    path = remote.save_config("https://compose.example.org", "cwt_abc", env)
    assert path == tmp_path / "compose" / "remote.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert remote.load_config(env) == {"url": "https://compose.example.org", "token": "cwt_abc"}
    assert remote.load_config({**env, "COMPOSE_SERVER": "http://other", "COMPOSE_TOKEN": "cwt_x"}) == {
        "url": "http://other",
        "token": "cwt_x",
    }


def test_without_a_server_the_message_says_how_to_log_in(tmp_path):
    with pytest.raises(remote.RemoteError, match="compose remote login"):
        remote.load_config({"XDG_CONFIG_HOME": str(tmp_path)})


def test_server_sent_events_are_read_with_comments_and_multiline_data_handled():
    stream = io.BytesIO(
        b': hello\n\nid: 1\nevent: event\ndata: {"seq": 1,\ndata: "type": "log"}\n\n'
        b': keepalive\n\nevent: end\ndata: {"status": "succeeded"}\n\n'
    )
    assert list(remote._sse(stream)) == [("event", {"seq": 1, "type": "log"}), ("end", {"status": "succeeded"})]


@pytest.mark.parametrize(
    "header, name",
    [
        ('attachment; filename="run-3.zip"', "run-3.zip"),
        ('attachment; filename="../../etc/passwd"', "passwd"),
        ("attachment; filename*=utf-8''mod%C3%A8le.bin", "modèle.bin"),
        ("", None),
    ],
)
def test_a_downloads_name_is_a_plain_file_name(header, name):
    assert remote._attachment_name(header) == name


def test_an_error_body_reads_like_compose_validate():
    assert (
        remote._error_line(
            {"path": "components[0].fraction", "message": "not a number", "line": 7, "column": 15}, "a.yaml"
        )
        == "a.yaml:7:15: components[0].fraction: not a number"
    )


def test_the_client_imports_no_django():
    code = (
        "import sys, compose.cli, compose.remote; compose.cli.build_parser(); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('django', 'torch', 'transformers')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out.replace("'", '"')) == []


def test_a_lists_next_page_is_asked_of_the_logged_in_server_only(monkeypatch):
    client = remote.Client("https://compose.example.org/", "cwt_abc")
    asked = []
    pages = {
        "/runs": {"results": [1], "next": "http://elsewhere.example/api/v1/runs?cursor=abc"},
        "/runs?cursor=abc": {"results": [2], "next": None},
    }

    def call(method, path, body=None, **params):
        asked.append(path)
        return pages[path]

    monkeypatch.setattr(client, "call", call)
    assert list(client.pages("/runs")) == [1, 2]
    assert asked == ["/runs", "/runs?cursor=abc"]
