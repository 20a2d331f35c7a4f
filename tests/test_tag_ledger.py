"""The results file: one run at a time (an fcntl lock), whole lines even on a full disk, CSV columns."""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT, skip_or_fail
from tests.support.library import add, rows
from genre import cli
from genre.tag.ledger import Ledger, LedgerBusy, LedgerError
from genre.tag import undo
from genre.tag.rows import CSV_HEAD, Row, TagWrite, csv_columns

ROW = {"path": "/music/a.mp3", "size": 10, "mtime": 1.5, "sha256": "ab" * 32, "file": "/music/a.mp3", "genre": "rock",
       "confidence": 0.9, "unsure": False, "why_unsure": "", "reason": None, "model": "cnn v0",
       "probabilities": {"rock": 0.9, "jazz": 0.1}, "paths": ["/music/a.mp3", "/music/link to a.mp3"],
       "tag": {"action": "written", "old": "Jazz", "new": "Rock",
               "replaced": {"genre": ["Jazz"], "source": None}}}


def test_a_second_ledger_on_the_same_file_is_refused_with_a_sentence(tmp_path):
    out = tmp_path / "out.jsonl"
    first = Ledger(out, ["rock", "jazz"])
    try:
        with pytest.raises(LedgerBusy) as refused:
            Ledger(out, ["rock", "jazz"])
        message = str(refused.value)
        assert f"process {os.getpid()}" in message and "pytest" in message and "another --out" in message
        assert Ledger(out, ["rock", "jazz"], write=False).index == {}  # a dry run only reads
        add(first, ROW)
    finally:
        first.close()
    second = Ledger(out, ["rock", "jazz"])  # the lock went with the first run
    second.close()
    assert rows(out) == [ROW]


def test_a_run_starting_while_the_file_is_compacted_is_refused_and_loses_nothing(tmp_path, monkeypatch):
    out = tmp_path / "out.jsonl"
    first = Ledger(out, ["rock", "jazz"])
    add(first, ROW)
    add(first, {**ROW, "genre": "jazz"})  # supersedes the first row: closing compacts the file
    compact, seen = Ledger._compact, []

    def compact_while_another_starts(self):
        try:
            Ledger(out, ["rock", "jazz"]).close()
            seen.append("opened")
        except LedgerBusy:
            seen.append("refused")
        compact(self)

    monkeypatch.setattr(Ledger, "_compact", compact_while_another_starts)
    first.close()
    assert seen == ["refused"]
    assert rows(out) == [{**ROW, "genre": "jazz"}]


FILL = """
import resource, sys
from genre.tag.ledger import Ledger, LedgerError
from genre.tag.rows import Row
ledger = Ledger(sys.argv[1], ["rock"])
ledger.append(Row.from_json({"path": "/a.mp3", "size": 1, "mtime": 1.0, "sha256": "x", "genre": "rock"}))
size = ledger.path.stat().st_size
resource.setrlimit(resource.RLIMIT_FSIZE, (size + 100, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
try:
    ledger.append(Row.from_json({"path": "/b.mp3", "size": 1, "mtime": 1.0, "sha256": "x", "genre": "x" * 1000}))
except LedgerError as exc:
    print(exc)
ledger.close()
"""


def test_a_full_disk_is_a_sentence_and_the_file_stays_whole(tmp_path):
    out = tmp_path / "out.jsonl"
    # a file-size limit makes the kernel write what fits (a short write), then refuse: a full disk's way
    done = subprocess.run([sys.executable, "-c", FILL, str(out)], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"Cannot write to {out}" in done.stdout and "run again to resume" in done.stdout
    assert [r["path"] for r in rows(out)] == ["/a.mp3"] and out.read_bytes().endswith(b"\n")


def test_a_short_write_is_finished_not_ignored(tmp_path, monkeypatch):
    out = tmp_path / "out.jsonl"
    ledger = Ledger(out, ["rock"])
    write = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: write(fd, bytes(data[:7])))  # a few bytes at a time
    add(ledger, ROW)
    monkeypatch.setattr(os, "write", lambda fd, data: 0)  # nothing written: the disk is full
    with pytest.raises(LedgerError, match="Cannot write"):
        add(ledger, {**ROW, "path": "/music/b.mp3"})
    monkeypatch.undo()
    ledger.close()
    assert rows(out) == [ROW]


def test_csv_keeps_the_reason_the_tag_and_the_paths(tmp_path):
    out = tmp_path / "out.csv"
    unsure = {**ROW, "path": "/music/b.mp3", "unsure": True, "reason": "low_confidence",
              "why_unsure": "Not sure: rock or jazz.", "tag": {"action": "unsure", "old": None, "new": None}}
    ledger = Ledger(out, ["rock", "jazz"])
    add(ledger, ROW)
    add(ledger, unsure)
    ledger.close()
    assert out.read_text().splitlines()[0].startswith(",".join(CSV_HEAD) + ",rock,jazz,error")
    again = Ledger(out, ["rock", "jazz"], write=False)
    a, b = again.row("/music/a.mp3"), again.row("/music/b.mp3")
    assert a.tag == TagWrite.from_record(ROW["tag"]) and a.paths == ROW["paths"] and a.reason is None
    assert (b.unsure, b.reason, b.verdict["why_unsure"]) == (True, "low_confidence", "Not sure: rock or jazz.")
    assert b.tag == TagWrite("unsure", None, None)


def test_a_csv_an_older_version_wrote_still_resumes_and_undoes(tmp_path):
    """A results file from before the ``refused`` column keeps its columns: resumed, extended, read back."""
    out = tmp_path / "older.csv"
    with open(out, "w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerow(csv_columns(["rock", "jazz"], older=True))
    first = Ledger(out, ["rock", "jazz"])  # takes the file's older columns
    add(first, ROW)
    first.close()
    refused = {"path": "/music/short.ogg", "size": 3, "mtime": 2.0, "sha256": "cd" * 32, "model": "cnn v0",
               "error": "The audio lasts 0.7 s; at least 1 s is needed.", "refused": True}
    ledger = Ledger(out, ["rock", "jazz"])  # this version, on the older file
    assert ledger.known("/music/a.mp3", 10, 1.5) and ledger.row("/music/a.mp3").to_json()["tag"] == ROW["tag"]
    add(ledger, refused)
    ledger.close()
    lines = out.read_text().splitlines()
    cells = list(csv.reader(lines))
    assert "refused" not in cells[0] and len(cells) == 3 and {len(c) for c in cells} == {len(cells[0])}
    again = Ledger(out, ["rock", "jazz"], write=False)
    assert again.row("/music/short.ogg").to_json()["error"] == refused["error"]
    assert undo.results_genres(out, []) == ["rock", "jazz"]  # --undo reads its genres too
    quoted = tmp_path / "quoted.csv"  # a model's own genre may need quoting in the header
    Ledger(quoted, ["rock", "r&b, soul"]).close()
    assert undo.results_genres(quoted, []) == ["rock", "r&b, soul"]
    with open(out, "w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerow(csv_columns(["rock", "metal"]))
    with pytest.raises(LedgerError, match="other columns"):
        Ledger(out, ["rock", "jazz"])


def test_csv_keeps_why_a_tag_write_failed(tmp_path):
    out = tmp_path / "out.csv"
    failed = {**ROW, "tag": {"action": "failed", "old": None, "new": "Rock",
                             "error": "Cannot write the tag: the file is\nread-only."}}
    with_ledger = Ledger(out, ["rock", "jazz"])
    add(with_ledger, failed)
    with_ledger.close()
    assert Ledger(out, ["rock", "jazz"], write=False).row(ROW["path"]).to_json()["tag"] == {
        **failed["tag"], "error": "Cannot write the tag: the file is read-only."}  # one line in the file


@pytest.mark.parametrize("content", [b"ID3\x04\x00\x00\x00\x00\x00\x00\xff\xfb\x90\x00" + bytes(range(256)) * 40,
                                     b"my notes\nsecond line, no newline at the end",
                                     b'{"title": "a JSON Lines file of something else"}\n'])
def test_a_file_tag_did_not_write_is_refused_and_left_as_it_is(tmp_path, content):
    out = tmp_path / "song.mp3"
    out.write_bytes(content)
    with pytest.raises(LedgerError, match="not a results file"):
        Ledger(out, ["rock", "jazz"])
    assert out.read_bytes() == content
    (tmp_path / "music").mkdir()
    assert cli.main(["tag", str(tmp_path / "music"), "--out", str(out)]) == 2  # bad usage, as the README says
    assert out.read_bytes() == content
    torn = tmp_path / "torn.jsonl"  # a run killed during its first line: still its results file
    torn.write_bytes(b'{"path": "/music/a.mp3", "si')
    Ledger(torn, ["rock", "jazz"]).close()
    assert torn.read_bytes() == b""


def test_a_killed_compaction_leaves_nothing_behind(tmp_path):
    out = tmp_path / "out.jsonl"
    out.write_text(json.dumps(ROW) + "\n" + json.dumps(ROW) + "\n")  # a superseded line: compacted at close
    stale = tmp_path / ".out.jsonl.k1ll3d_0.compact"  # a rewrite a SIGKILL interrupted
    stale.write_text("half")
    mine = tmp_path / ".out.jsonl.notes.compact"  # the user's, only named like one
    mine.write_text("notes")
    ledger = Ledger(out, ["rock"])
    assert not stale.exists()
    ledger.close()
    assert rows(out) == [ROW] and sorted(p.name for p in tmp_path.iterdir()) == [mine.name, "out.jsonl"]


def test_undo_is_settled_for_a_resumed_run(tmp_path):
    out = tmp_path / "out.jsonl"
    ledger = Ledger(out, ["rock"])
    add(ledger, {**ROW, "tag": {"action": "undone", "old": "Rock", "new": "Jazz"}})
    assert ledger.index[ROW["path"]].tagged
    ledger.close()
    assert Path(out).exists()


def test_a_rerun_that_does_nothing_says_why(tmp_path):
    """Songs left alone because they failed before, or their tag was undone, are counted as such
    (a rerun said only '0 failed', and a --write-tags rerun after --undo wrote nothing silently)."""
    from genre.tag.run import plan
    from genre.tag.tally import Tally

    lib = tmp_path / "lib"
    lib.mkdir()
    rows_of = {"broken.mp3": {"error": "The file could not be decoded: it is corrupt or not audio."},
               "short.mp3": {"error": "The audio lasts 0.7 s; at least 1 s is needed.", "refused": True},
               "undone.mp3": {**ROW, "tag": {"action": "undone", "old": "Rock", "new": "Jazz"}},
               "fine.mp3": ROW}
    ledger = Ledger(tmp_path / "out.jsonl", ["rock"])
    for name, row in rows_of.items():
        (lib / name).write_bytes(b"ID3 " + name.encode())
        st = (lib / name).stat()
        add(ledger, {**row, "path": str(lib / name), "size": st.st_size, "mtime": st.st_mtime})
    tally = Tally()
    assert plan([str(lib)], ledger, tally, print, [], clean=False) == []
    ledger.close()
    assert (tally.already, tally.failed_before, tally.undone_before) == (4, 1, 1)
    assert ("4 already in the results and unchanged (1 failed before, tried again once changed; "
            "1 undone by --undo, not written again)") in tally.summary()


def test_an_overwrite_run_takes_up_the_genres_an_earlier_run_kept(tmp_path):
    from genre.tag.run import plan
    from genre.tag.tally import Tally

    lib = tmp_path / "lib"
    lib.mkdir()
    song, leftover = lib / "a.mp3", lib / ".genre-tmp-abcd1234.mp3"
    song.write_bytes(b"ID3 a song an earlier run analysed")
    leftover.write_bytes(b"ID3 a copy a killed run left")
    st = song.stat()
    ledger = Ledger(tmp_path / "out.jsonl", ["rock"])
    add(ledger, {**ROW, "path": str(song), "size": st.st_size, "mtime": st.st_mtime,
                   "tag": {"action": "kept", "old": "Heavy Stuff", "new": "Metal"}})
    for overwrite, expected in ((False, []), (True, [str(song)])):
        retag, tally = [], Tally()
        assert plan([str(lib)], ledger, tally, print, retag, clean=False, overwrite=overwrite) == []
        assert retag == expected and tally.already == 1
    assert leftover.exists()  # a run that writes no tags deletes nothing
    add(ledger, {**ROW, "path": str(song), "size": st.st_size, "mtime": st.st_mtime,
                   "tag": {"action": "written", "old": "Heavy Stuff", "new": "Metal"}})
    assert not ledger.index[str(song)].to_tag(overwrite=True)  # written by this project: settled
    plan([str(lib)], ledger, Tally(), print, [], clean=True)
    assert not leftover.exists()
    ledger.close()


def test_csv_keeps_a_file_name_with_a_newline_whole(tmp_path):
    out = tmp_path / "out.csv"
    odd = {**ROW, "path": '/music/10 new\nline "live".mp3', "paths": ['/music/10 new\nline "live".mp3']}
    ledger = Ledger(out, ["rock", "jazz"])
    add(ledger, odd)
    add(ledger, ROW)
    add(ledger, ROW)  # supersedes the line before: the file is compacted at close
    ledger.close()
    with open(out, "ab") as f:
        f.write(b'"/music/torn\n')  # a row a killed run tore inside its quoted path
    again = Ledger(out, ["rock", "jazz"])
    assert sorted(again.index) == sorted([odd["path"], ROW["path"]]) and again.repaired == len(b'"/music/torn\n')
    assert again.row(odd["path"]).to_json()["path"] == odd["path"] and again.row(odd["path"]).to_json()["tag"] == ROW["tag"]
    assert again.row(ROW["path"]).to_json()["paths"] == ROW["paths"]
    again.close()
    assert out.read_text().count("\n") == 4  # the header, two rows, and the newline inside the quoted path


def test_summary_counts_genres_of_sure_songs_and_unsure_by_reason():
    """An unsure song has no genre to count: two tones and a jazz song are 'jazz 1; 2 unsure: not music 2'."""
    from genre.tag.tally import Tally

    tally = Tally()
    tally.count(Row.from_json({"path": "/x.mp3", "genre": "jazz", "unsure": False, "reason": None}))
    for best_guess in ("jazz", "metal"):  # what the model leaned to is not a genre the library has
        tally.count(Row.from_json({"path": "/x.mp3", "genre": best_guess, "unsure": True, "reason": "not_music"}))
    tally.count(Row.from_json({"path": "/x.mp3", "genre": "rock", "unsure": True, "reason": "low_confidence"}))
    tally.count(Row.from_json({"path": "/x.mp3", "error": "not audio"}))
    line = next(x for x in tally.summary().splitlines() if x.startswith("genres"))
    assert line == "genres (sure): jazz 1; 3 unsure: not music 2, low confidence 1"
    assert (tally.analysed, tally.failed, tally.unsure) == (5, 1, 3)

    only_unsure = Tally()
    only_unsure.count(Row.from_json({"path": "/x.mp3", "genre": "pop", "unsure": True, "reason": "outside_ten"}))
    assert "genres (sure): none; 1 unsure: music outside the ten 1" in only_unsure.summary()


@pytest.fixture
def parquet_results():
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        skip_or_fail("pyarrow is not installed (requirements-scale.txt)")
    from genre.tag.ray import ParquetResults

    return ParquetResults


def test_parquet_results_that_are_not_a_ray_runs_are_a_sentence(tmp_path, parquet_results, capsys):
    single = tmp_path / "single.parquet"  # a Parquet file of the user's, not a --ray run's folder
    single.write_bytes(b"PAR1 someone's table PAR1")
    for write in (True, False):
        with pytest.raises(LedgerError, match="is a file, not the folder"):
            parquet_results(single, write=write)
    assert cli.main(["tag", "--undo", "--out", str(single)]) == 2  # not a results folder: bad usage
    assert "error: " in capsys.readouterr().err and single.read_bytes().startswith(b"PAR1 someone")
    folder = tmp_path / "run.parquet"
    results = parquet_results(folder)
    add(results, ROW)
    results.close()
    (folder / "part-1-garbage.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(LedgerError, match="part-1-garbage.parquet is not a part") as refused:
        parquet_results(folder)
    assert refused.value.__cause__ is not None
    (folder / "part-1-garbage.parquet").unlink()
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"a": [1, 2]}), folder / "part-1-other.parquet")  # Parquet, but not a run's
    with pytest.raises(LedgerError, match="part-1-other.parquet is not a part") as refused:
        parquet_results(folder)
    assert "\n" not in str(refused.value)  # one line, though pyarrow says it in several
    (folder / "part-1-other.parquet").unlink()
    left = folder / ".part-2-deadbeef.parquet.tmp"  # a part a killed run was writing
    left.write_bytes(b"half a part")
    again = parquet_results(folder)  # the folder's lock is free again after the refusal
    assert again.row(ROW["path"]).to_json() == ROW and not left.exists()
    again.close()


def test_a_parquet_part_is_written_every_30_s_not_only_every_64_rows(tmp_path, parquet_results, monkeypatch):
    """A kill -9 of a slow --ray run lost up to 63 analysed songs; now at most PARQUET_PART_SECONDS."""
    from genre.tag import ray

    folder = tmp_path / "slow.parquet"
    results = parquet_results(folder)
    add(results, ROW)
    assert not list(folder.glob(ray.PART_GLOB))  # one row, just now: buffered
    clock = [results._flushed + ray.PARQUET_PART_SECONDS]
    monkeypatch.setattr(ray.time, "monotonic", lambda: clock[0])  # half a minute later
    add(results, {**ROW, "path": "/music/b.mp3"})
    assert len(list(folder.glob(ray.PART_GLOB))) == 1  # both rows written, before any close
    assert set(parquet_results(folder, write=False).index) == {ROW["path"], "/music/b.mp3"}
    results.close()


def test_a_tagging_rerun_with_nothing_left_says_so():
    """--write-tags over a library whose tags are all settled printed no tags line at all."""
    from genre.tag.tally import Tally

    for tagging in (True, False):  # a run that only analyses says nothing of tags
        tally = Tally(tagging=tagging)
        tally.already = 7
        assert ("tags: none left to write" in tally.summary()) is tagging
        assert ("tags:" in tally.summary()) is tagging


def test_a_failed_tag_write_is_said_on_the_tags_line_not_as_a_failed_analysis():
    from genre.tag.tally import Tally

    tally = Tally(tagging=True)
    for action in ("written", "failed"):
        tally.count(Row("/x.mp3", verdict={"genre": "rock", "unsure": False}, tag=TagWrite(action, None, "Rock")))
    said = tally.summary()
    assert "2 song(s) analysed" in said and ", 0 failed;" in said and "tags: 1 written, 1 failed" in said
    assert tally.tags_failed == 1  # and the run still exits 1 (run._tag)


def test_an_interrupted_rerun_never_says_every_tag_is_settled():
    from genre.tag.tally import Tally

    tally = Tally(tagging=True)
    tally.already = 9  # in the results; the rest never reached
    assert "none left to write" not in tally.summary(interrupted=True)
    assert "none left to write" in tally.summary()  # a whole run that found nothing new: all settled


@pytest.mark.parametrize("line", ['{"path": 5}', '{"path": "/m/a.mp3", "tag": {"old": null}}',
                                  '{"path": "/m/a.mp3", "tag": "written"}'])
def test_a_line_edited_into_something_else_is_set_aside_not_a_crash(tmp_path, line):
    out = tmp_path / "out.jsonl"
    out.write_text(json.dumps(ROW) + "\n" + line + "\n")
    ledger = Ledger(out, ["rock", "jazz"])
    assert list(ledger.index) == [ROW["path"]] and ledger.damaged == 1
    assert "1 line(s) that are not results removed" in ledger.repairs()
    ledger.close()
