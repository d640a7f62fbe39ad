"""The run page's event ordering (static/js/sequencer.js), run under Node: every event is
shown once, in seq order, whatever mix of replay pages and websocket pushes delivers it."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
NODE = shutil.which("node")

HARNESS = r"""
const Sequencer = require(process.argv[2]);
const db = [];                       // the server's events: seq 1..n
for (let i = 1; i <= 12; i++) db.push({seq: i, event: {type: "log", message: "e" + i}});
const shown = [], fetches = [];
function fetchAfter(after) {
  fetches.push(after);
  const rest = db.filter(e => e.seq > after && e.seq <= available);
  return Promise.resolve({events: rest.slice(0, 4), more: rest.length > 4, run: {status: "running"}});
}
let available = 5;                   // events committed so far
const s = new Sequencer((seq, e) => shown.push(seq), fetchAfter, () => {});
(async () => {
  await s.replay();                  // initial load: 1..5 in two pages
  s.push(5, db[4].event);            // a duplicate from the socket's own replay
  s.push(4, db[3].event);            // an old one
  available = 9;
  s.push(6, db[5].event);            // next in line
  s.push(9, db[8].event);            // a jump: 7 and 8 are fetched first
  await s.push(8, db[7].event);      // arrives late, already shown
  available = 12;
  await s.push(10, db[9].event);
  await s.replay();                  // a reconnect replays what is left
  await s.replay();                  // and finds nothing new
  console.log(JSON.stringify({shown, fetches, last: s.last}));
})();
"""


@pytest.mark.skipif(NODE is None, reason="needs node")
def test_events_are_shown_once_in_order_with_gaps_filled(tmp_path):
    harness = tmp_path / "harness.js"
    harness.write_text(HARNESS, encoding="utf-8")
    out = subprocess.run(
        [NODE, str(harness), str(ROOT / "static" / "js" / "sequencer.js")],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    result = json.loads(out.stdout)
    assert result["shown"] == list(range(1, 13))
    assert result["last"] == 12
    assert result["fetches"] == [0, 4, 6, 10, 12]  # two pages, the gap after 6, then the rest
