"""streaming: true reads rows lazily and materializes them batch by batch."""

from __future__ import annotations

import pytest

from runner.dataset_prep.loading import materialize_stream, take_from_stream


@pytest.mark.slow  # the first stream imports torch (datasets shares streams with its workers)
def test_streamed_local_files_give_the_same_rows(jobs, alpaca_rows):
    rows = alpaca_rows(2500)
    jobs.write_jsonl("a.jsonl", rows)
    ref = jobs.run("load", loader="json", data_files="a.jsonl", streaming=True)
    assert jobs.rows(ref) == rows
    progress = [e for e in jobs.events if e["type"] == "progress"]
    assert progress and progress[-1]["current"] == 2500 and progress[-1]["stage"] == "load"


def test_streamed_fraction_needs_a_known_size(jobs):
    jobs.write_jsonl("a.jsonl", [{"n": 1}])
    message = jobs.fail("load", loader="json", data_files="a.jsonl", streaming=True, fraction=0.5)
    assert "fraction 0.5 needs the size of split 'train'" in message and "streaming: false" in message


def _stream_with_known_size(n):
    from datasets import IterableDataset, SplitDict, SplitInfo

    def rows():
        for i in range(n):
            yield {"n": i}

    stream = IterableDataset.from_generator(rows)
    stream.info.splits = SplitDict({"train": SplitInfo(name="train", num_examples=n)})
    return stream


class _Ctx:
    job = "j"
    is_main = True

    def __init__(self):
        self.events = []

    def emit(self, event):
        self.events.append(event)

    def check_cancelled(self):
        pass


def test_streamed_fraction_with_known_size_takes_the_head(tmp_path):
    stream, total = take_from_stream(_stream_with_known_size(10), "train", 0.3, False, 0)
    assert total == 3
    ctx = _Ctx()
    assert materialize_stream(ctx, stream, total, tmp_path).to_list() == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert ctx.events[-1]["current"] == 3 and ctx.events[-1]["total"] == 3


def test_streamed_shuffle_is_seeded(tmp_path):
    def sample(seed):
        stream, total = take_from_stream(_stream_with_known_size(50), "train", 0.5, True, seed)
        return [r["n"] for r in materialize_stream(_Ctx(), stream, total, tmp_path / str(seed)).to_list()]

    first = sample(1)
    (tmp_path / "1").rename(tmp_path / "first")  # a fresh folder for the second run
    assert first == sample(1) and first != sample(2)
    assert len(first) == 25 and len(set(first)) == 25 and first != list(range(25))


def test_cancel_stops_a_stream(tmp_path):
    from compose.jobspec import JobCancelled

    class Cancelled(_Ctx):
        def check_cancelled(self):
            raise JobCancelled("cancelled")

    stream, total = take_from_stream(_stream_with_known_size(3000), "train", 1, False, 0)
    with pytest.raises(JobCancelled):
        materialize_stream(Cancelled(), stream, total, tmp_path)
