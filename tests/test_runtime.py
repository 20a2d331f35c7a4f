"""Which runtime serves, and that ONNX Runtime gives the Keras networks' answers without TensorFlow."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from genre import audio, backbone, fusion, heads, runtime, spectrogram
from genre.errors import ModelError
from tests.support import ROOT, skip_or_fail, sounds

MODEL = ROOT / "model"


@pytest.fixture
def machine(monkeypatch):
    """A machine with or without a GPU, and no GENRE_RUNTIME from the caller."""
    monkeypatch.delenv(runtime.RUNTIME_VARIABLE, raising=False)

    def set_machine(gpu: bool):
        monkeypatch.setattr(runtime, "gpu_visible", lambda: gpu)
    return set_machine


def test_tensorflow_where_there_is_a_gpu(machine):
    machine(gpu=True)
    choice = runtime.choose(MODEL)
    assert choice.runtime == runtime.TENSORFLOW and "GPU" in choice.why


def test_onnxruntime_on_a_cpu_when_the_files_are_there(machine, tmp_path):
    machine(gpu=False)
    assert runtime.choose(MODEL).runtime == runtime.ONNXRUNTIME
    (tmp_path / runtime.ONNX_FILE).write_bytes(b"")  # one of the two files only
    choice = runtime.choose(tmp_path)
    assert choice.runtime == runtime.TENSORFLOW and "genre_cnn.onnx" in choice.why


def test_an_onnx_file_not_made_from_the_keras_beside_it_is_never_served(machine, tmp_path):
    machine(gpu=False)
    for keras_name, onnx_name in runtime.ONNX_FILES.items():
        for name in (keras_name, onnx_name, keras_name.replace(".keras", ".json")):
            shutil.copy(MODEL / name, tmp_path / name)
    assert runtime.choose(tmp_path).runtime == runtime.ONNXRUNTIME
    info_path = tmp_path / "genre_cnn.json"  # as if the CNN had been retrained since the export
    info = json.loads(info_path.read_text())
    info["onnx"]["keras_sha256"] = "0" * 64
    info_path.write_text(json.dumps(info))
    choice = runtime.choose(tmp_path)
    assert choice.runtime == runtime.TENSORFLOW and "genre_cnn.onnx not made from" in choice.why


def test_the_variable_overrides_and_a_wrong_value_is_refused(machine, monkeypatch):
    machine(gpu=True)
    monkeypatch.setenv(runtime.RUNTIME_VARIABLE, "ONNXRuntime")
    assert runtime.choose(MODEL).runtime == runtime.ONNXRUNTIME
    monkeypatch.setenv(runtime.RUNTIME_VARIABLE, "pytorch")
    with pytest.raises(ModelError, match="GENRE_RUNTIME"):
        runtime.choose(MODEL)


def test_a_head_read_without_keras_equals_the_keras_head():
    import keras

    for name in heads.HEADS:
        path = MODEL / f"head_{name}.keras"
        read, loaded = heads.read(path), heads.linear(keras.saving.load_model(path, compile=False))
        assert read.kernel.shape == (fusion.HEARD_WIDTH[heads.READS[name]], 10) and read.bias.shape == (10,)
        for field in ("mean", "variance", "kernel", "bias"):
            np.testing.assert_array_equal(getattr(read, field), getattr(loaded, field))


def test_a_head_that_is_not_a_keras_file_is_a_model_error(tmp_path):
    bad = tmp_path / "head_audio.keras"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ModelError, match="head_audio.keras"):
        heads.read(bad)


def test_the_onnx_backbone_hears_real_music_as_keras_does():
    clips = sounds.music(12.0, start=20.0)
    step = audio.CLIP_SAMPLES
    patches = np.stack([backbone.patch(clips[i:i + step]) for i in range(0, 4 * step, step)])
    keras_heard = backbone.load_backbone(MODEL / backbone.MODEL_FILE)(patches)
    onnx_heard = runtime.OnnxTagger(MODEL / runtime.ONNX_FILE, MODEL / backbone.MODEL_FILE)(patches)
    assert onnx_heard.tags.shape == (4, 50) and onnx_heard.embedding.shape == (4, backbone.EMBEDDING_UNITS)
    assert onnx_heard.pool.shape == (4, backbone.POOL_UNITS)
    for name in ("tags", "embedding", "pool"):
        assert np.abs(getattr(onnx_heard, name) - getattr(keras_heard, name)).max() < runtime.TOLERANCE
    assert np.abs(keras_heard.embedding).max() > 0.1  # real activations, not a silent network


def test_the_onnx_cnn_gives_the_keras_cnns_probabilities():
    from genre.cnn import load_model
    from genre.prediction import clip_windows

    _, windows = clip_windows(sounds.music(9.0, start=20.0))
    assert windows.shape == (3, spectrogram.N_MELS, spectrogram.CLIP_COLUMNS)
    keras_cnn = load_model(MODEL / "genre_cnn.keras")
    onnx_cnn = load_model(MODEL / "genre_cnn.keras", onnx=MODEL / "genre_cnn.onnx")
    p, q = keras_cnn.network_probs(windows), onnx_cnn.network_probs(windows)
    assert q.shape == (len(windows), 10) and np.allclose(q.sum(1), 1, atol=1e-5)
    assert np.abs(p - q).max() < runtime.TOLERANCE


def _verdict_in_a_fresh_process(runtime_name: str) -> dict:
    code = ("import json, sys; from genre import load_model, predict; m = load_model(); "
            "r = predict(sys.argv[1], m); "
            "print(json.dumps({'runtime': m.runtime.runtime, 'genre': r.genre, 'probs': list(r.probabilities.values()), "
            "'reason': r.reason, 'tensorflow': 'tensorflow' in sys.modules}))")
    env = {**os.environ, runtime.RUNTIME_VARIABLE: runtime_name, "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = subprocess.run([sys.executable, "-c", code, str(ROOT / "assets" / "demo" / "reggae.mp3")], env=env,
                         cwd=ROOT, capture_output=True, text=True, timeout=300, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_both_runtimes_give_the_same_verdict_and_onnx_never_imports_tensorflow():
    tf_side, onnx_side = _verdict_in_a_fresh_process("tensorflow"), _verdict_in_a_fresh_process("onnxruntime")
    assert (tf_side["runtime"], onnx_side["runtime"]) == ("tensorflow", "onnxruntime")
    assert tf_side["tensorflow"] and not onnx_side["tensorflow"]
    assert onnx_side["genre"] == tf_side["genre"] and onnx_side["reason"] == tf_side["reason"]
    assert np.abs(np.subtract(onnx_side["probs"], tf_side["probs"])).max() < 1e-4


@pytest.mark.slow
def test_export_writes_checked_files_and_refuses_a_conversion_that_differs(tmp_path, monkeypatch):
    try:
        import tf2onnx  # noqa: F401
    except ImportError:
        skip_or_fail("tf2onnx is not installed (requirements-dev.txt)")
    from genre.training.export import export_onnx

    for name in runtime.ONNX_FILES:
        shutil.copy(MODEL / name, tmp_path / name)
    killed, lookalike = tmp_path / ".genre_cnn-abcd1234.onnx", tmp_path / ".genre_cnn-notes.onnx"
    killed.write_bytes(b"half a conversion a killed export left")
    lookalike.write_bytes(b"the user's")
    written = export_onnx(tmp_path, log=lambda *a: None)
    assert sorted(p.name for p in written) == sorted(runtime.ONNX_FILES.values())
    assert not killed.exists() and lookalike.exists()  # only mkstemp's exact names, unlocked
    lookalike.unlink()
    record = json.loads((tmp_path / "musicnn.json").read_text())["onnx"]
    assert max(record[f"max_{name}_difference"] for name in ("tags", "embedding", "pool")) < runtime.TOLERANCE
    assert record["opset"] >= 13
    heard = runtime.OnnxTagger(tmp_path / runtime.ONNX_FILE, tmp_path / backbone.MODEL_FILE)(
        np.ones((1, backbone.PATCH_FRAMES, backbone.PATCH_MELS), np.float32))
    assert heard.embedding.shape == (1, backbone.EMBEDDING_UNITS) and heard.pool.shape == (1, backbone.POOL_UNITS)

    for path in written:
        path.unlink()
    monkeypatch.setattr(runtime, "TOLERANCE", 0.0)  # nothing converted is ever bit-equal
    with pytest.raises(ModelError, match="not saved"):
        export_onnx(tmp_path, log=lambda *a: None)
    assert not list(tmp_path.glob("*.onnx")) and not list(tmp_path.glob(".*"))  # nothing left behind


@pytest.mark.slow
def test_export_without_tf2onnx_says_how_to_install_it_and_writes_nothing(tmp_path, monkeypatch):
    """``train`` catches this ModelError and goes on; a bare ImportError would end it."""
    from genre.training.export import export_onnx

    for name in runtime.ONNX_FILES:
        shutil.copy(MODEL / name, tmp_path / name)
    monkeypatch.setitem(sys.modules, "tf2onnx", None)  # as where requirements-dev.txt is not installed
    with pytest.raises(ModelError, match="needs tf2onnx"):
        export_onnx(tmp_path, log=lambda *a: None)
    assert not list(tmp_path.glob("*.onnx")) and not list(tmp_path.glob(".*"))


def test_serving_on_onnx_runtime_sends_and_keeps_nothing(tmp_path):
    """ONNX Runtime's own telemetry (a device id under ~/.cache/Microsoft, queued events, a .ses file in
    the temporary folder) stays off: a verdict on ONNX Runtime leaves HOME and TMPDIR as they were."""
    home, tmp = tmp_path / "home", tmp_path / "tmp"
    home.mkdir(), tmp.mkdir()
    song = sounds.encode(sounds.music(6.0), tmp_path / "song.wav")
    env = {k: v for k, v in os.environ.items() if k != "ORT_DISABLE_TELEMETRY"}  # the package must set it
    env.update(HOME=str(home), TMPDIR=str(tmp), GENRE_RUNTIME="onnxruntime", PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "genre", "predict", "--json", str(song)], capture_output=True,
                          text=True, cwd=ROOT, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout)["device"].endswith("(ONNX Runtime)")
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == ["home", "song.wav", "tmp"]
