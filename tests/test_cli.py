"""The command line: output formats, exit status, and bad files that never stop the others."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT
from genre import GENRES


def run(*args, cwd=ROOT):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "genre", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=300)


@pytest.fixture(scope="module")
def bad_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("bad") / "not audio.mp3"
    path.write_bytes(b"this is not audio at all" * 10)
    return path


def test_predict_prints_one_line_per_file(media, tiny_model_path):
    done = run("predict", media["mp3"], media["flac"], "--model", tiny_model_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith(str(media["mp3"]))
    assert any(g in lines[0] for g in GENRES) and "%" in lines[0]


def test_predict_json_with_a_bad_file_among_good_ones(media, bad_file, tiny_model_path):
    done = run("predict", media["mp3"], bad_file, media["wav"], "--json", "--model", tiny_model_path)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    rows = [json.loads(line) for line in done.stdout.strip().splitlines()]
    assert [r["file"] for r in rows] == [str(media["mp3"]), str(bad_file), str(media["wav"])]
    good, bad = rows[0], rows[1]
    assert set(good) >= {"file", "genre", "confidence", "probabilities", "clips", "device"}
    assert set(good["probabilities"]) == set(GENRES)
    assert set(good["clips"][0]) == {"start", "end", "genre", "probabilities", "tags"}
    assert isinstance(good["unsure"], bool) and isinstance(good["tags"], dict)
    assert set(bad) == {"file", "error"} and "audio" in bad["error"]
    assert rows[2]["genre"] in GENRES


def test_predict_start_analyses_one_clip(media, tiny_model_path):
    done = run("predict", media["long"], "--start", "12.5", "--json", "--model", tiny_model_path)
    assert done.returncode == 0, done.stderr
    clips = json.loads(done.stdout)["clips"]
    assert len(clips) == 1 and clips[0]["start"] == 12.5


@pytest.mark.parametrize("args", [[], ["predict"], ["predict", "x.mp3", "--start", "abc"],
                                  ["predict", "x.mp3", "--start", "-3"], ["predict", "x.mp3", "--start", "nan"],
                                  ["predict", "x.mp3", "--start", "inf"], ["tag", "x.mp3", "--overwrite"],
                                  ["tag", "x.mp3", "--out", "no such folder/results.jsonl"],
                                  ["bogus"]])
def test_bad_usage_exits_2(args):
    done = run(*args)
    assert done.returncode == 2 and "usage" in done.stderr


def test_a_reader_that_goes_away_or_a_full_disk_is_no_traceback(media, tiny_model_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "genre", "predict", "--json", "--model", str(tiny_model_path),
               *[str(media["mp3"])] * 3]
    reader = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, env=env)
    reader.stdout.read(5)  # `| head -c 5`: read a little, then go away
    reader.stdout.close()
    assert reader.wait(timeout=300) == 1 and b"Traceback" not in reader.stderr.read()
    reader.stderr.close()
    if Path("/dev/full").exists():
        with open("/dev/full", "w") as full:
            done = subprocess.run(command, stdout=full, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env,
                                  timeout=300)
        assert done.returncode == 1 and done.stderr.strip() == "error: no space left on the device to write the output"


def test_a_missing_model_is_one_line_and_exit_1(media, tmp_path):
    done = run("predict", media["mp3"], "--model", tmp_path / "none.keras")
    assert done.returncode == 1
    assert done.stderr.startswith("error: ") and "Traceback" not in done.stderr


def test_evaluate_json_on_a_genre_folder(media, tiny_model_path, tmp_path):
    for genre, key in [("blues", "mp3"), ("rock", "wav"), ("jazz", "short")]:
        (tmp_path / genre).mkdir()
        (tmp_path / genre / media[key].name).write_bytes(media[key].read_bytes())
    done = run("evaluate", "--data", tmp_path, "--model", tiny_model_path, "--json",
               "--plot", tmp_path / "confusion.png")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["n"] == 3 and report["genres"] == list(GENRES)
    assert 0 <= report["accuracy"] <= 1 and 0 <= report["macro_f1"] <= 1
    assert set(report["per_genre"]) == {"blues", "rock", "jazz"}
    assert sum(map(sum, report["confusion"])) == 3
    assert (tmp_path / "confusion.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow  # the shipped model embeds each file
def test_evaluate_plots_the_shipped_models_confusion_too(media, tmp_path):
    """--plot was silently skipped for the fused model (the default): now one matrix of every file."""
    for genre, key in [("blues", "mp3"), ("rock", "wav"), ("jazz", "flac")]:
        (tmp_path / genre).mkdir()
        (tmp_path / genre / media[key].name).write_bytes(media[key].read_bytes())
    done = run("evaluate", "--data", tmp_path, "--json", "--plot", tmp_path / "fused.png")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)["audio"]
    assert report["n"] == 3 and sum(map(sum, report["confusion"])) == 3
    assert sum(row[i] for i, row in enumerate(report["confusion"])) == round(3 * report["accuracy"])
    assert (tmp_path / "fused.png").read_bytes()[:4] == b"\x89PNG"


def test_evaluate_averages_repeated_models(media, tiny_model_path, tmp_path):
    (tmp_path / "blues").mkdir()
    (tmp_path / "blues" / "a.wav").write_bytes(media["wav"].read_bytes())
    done = run("evaluate", "--data", tmp_path, "--model", tiny_model_path, "--model", tiny_model_path, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["n"] == 1


def test_the_genre_command_is_installed_and_is_the_cli():
    """``pip install -e .`` (make) puts pyproject's console script beside the venv's Python."""
    script = Path(sys.executable).parent / "genre"
    if not script.exists():
        pytest.skip("the package is not installed in this environment (make installs it)")
    done = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "predict" in done.stdout and "tag" in done.stdout


def test_doctor_finds_every_file_the_runtime_and_a_model_that_loads():
    done = run("doctor")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "MISSING" not in done.stdout and "backbone runtime: " in done.stdout
    assert "model: loads and judges on" in done.stdout


def test_doctor_says_why_a_model_does_not_load(tmp_path):
    """A head trained when it read another backbone output (200 values, not the 1506 of the pool)
    is named, with the command that mends it, and doctor fails without a traceback."""
    import shutil

    folder = tmp_path / "model"
    shutil.copytree(ROOT / "model", folder)
    shutil.copyfile(folder / "head_image.keras", folder / "head_audio.keras")
    (folder / "detector.npz").unlink()
    done = run("doctor", "--model", folder)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"{folder / 'detector.npz'} (absent: no music detector" in done.stdout  # optional: said, not failed
    assert "model: does not load" in done.stdout and "head_audio.keras reads 200 values" in done.stdout
    assert "python -m genre train" in done.stdout


@pytest.mark.parametrize("command", ["import-musicnn", "export-onnx"])
def test_converting_without_tf2onnx_says_so_first_and_writes_nothing(command, tmp_path):
    """Where requirements-dev.txt is not installed: one line, before the backbone is fetched or rewritten."""
    blocked = ("import sys; sys.modules['tf2onnx'] = None; from genre.cli import main; "
               f"sys.exit(main([{command!r}, '--out', {str(tmp_path)!r}]))")
    done = subprocess.run([sys.executable, "-c", blocked], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert done.returncode == 1
    assert "needs tf2onnx: pip install -r requirements-dev.txt" in done.stderr
    assert "Traceback" not in done.stderr and "tensorflow" not in done.stderr.lower()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("kind", ["missing", "folder"])
def test_a_name_with_a_newline_and_an_escape_code_stays_one_inert_line(kind, tmp_path, tiny_model_path):
    """The error sentence quotes the name too: escaped there as in the prefix, so no name breaks the
    one-line-per-file output or colours the terminal."""
    name = tmp_path / "no\nsuch\x1b[31mred.mp3"
    if kind == "folder":
        name.mkdir()
    done = run("predict", name, "--model", tiny_model_path)
    assert done.returncode == 1
    assert "\x1b" not in done.stdout
    lines = done.stdout.splitlines()
    assert len(lines) == 1 and "error:" in lines[0], done.stdout
    assert "\\n" in lines[0] and "\\x1b" in lines[0]


def test_the_text_line_says_a_short_song_was_repeated(media, tiny_model_path):
    """What the page says of how a song was heard, the line says too (JSON has ``short``)."""
    done = run("predict", media["short"], media["wav"], "--model", tiny_model_path)
    assert done.returncode == 0, done.stderr
    short, whole = done.stdout.splitlines()
    assert short.endswith("The song is shorter than 3 s, so it was repeated to fill one clip.")
    assert "repeated" not in whole and "minutes" not in whole


@pytest.mark.slow  # loads the shipped model
def test_not_music_names_no_genre_in_the_text_line(tmp_path):
    """As the page: a sound the detector calls not music gets no genre on its line (JSON keeps the
    nearest of the ten beside ``reason``, for programs)."""
    import numpy as np

    from tests.support.sounds import SR, encode

    rng = np.random.default_rng(11)
    noise = encode((0.25 * rng.standard_normal(9 * SR)).astype(np.float32), tmp_path / "hiss.wav")
    line = run("predict", noise).stdout.strip()
    row = json.loads(run("predict", noise, "--json").stdout)
    assert row["reason"] == "not_music" and row["genre"] in GENRES
    assert line.startswith(f"{noise}: not music (") and "does not sound like music" in line
    head = line.split("): ")[0]  # what the line says before the sentence: no genre named there
    assert not any(g in head.removeprefix(str(noise)) for g in GENRES), line


@pytest.mark.slow  # a process of its own, stopped mid-way
def test_ctrl_c_stops_predict_at_once(media, tiny_model_path):
    """Ctrl-C is never swallowed (numba's callbacks caught it, and the run exited 0): predict leaves
    nothing half done, so it ends there, by the signal."""
    import signal

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "genre", "predict", *[media["long"]] * 40, "--model",
                             str(tiny_model_path)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True,  # as from a terminal: a CI job run in
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # the background ignores it
    first = proc.stdout.readline()  # the model is loaded and a song judged: mid-run
    proc.send_signal(signal.SIGINT)
    rest = proc.communicate(timeout=60)[0]
    assert first and proc.returncode == -signal.SIGINT and len(rest.splitlines()) < 39
