"""The backbone (musicnn) on every runtime at hand, side by side on this machine.

Prints figures; asserts nothing. Run: ``python -m bench.runtimes [--repeats N] [--isa avx2]``.

For 10 real 3-s patches (30 s of the project's jazz demo through ``backbone.patch``): TensorFlow as the app runs
it (a traced graph, batches of 1, 4 and 10), XLA (``jit_compile``), LiteRT/TFLite with XNNPACK
(float32, float16 weights, dynamic-range int8) and ONNX Runtime as the app runs it (the shipped
``model/musicnn.onnx``, made by ``python -m genre export-onnx``); each with its largest difference
from TensorFlow's tags and embedding.

``--isa avx2`` runs every runtime as on a CPU without AVX-512, AVX-VNNI or AMX (an AMD EPYC of the
Zen 2/3 generations, AWS's c6a/m6a/t3a): CPUID is made to hide them (``bench/isa``), so oneDNN,
ONNX Runtime's MLAS and XNNPACK each pick their AVX2 kernels, on this machine's cores.
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from bench import isa
from tests.support import ROOT, machine, sounds

PATCHES = 10
THREADS = 2  # the app's machine: two cores


def patches() -> np.ndarray:
    from genre import audio, backbone

    song = sounds.music(PATCHES * audio.CLIP_SECONDS)  # real music: the quantised runtimes' errors depend on it
    return np.stack([backbone.patch(song[i * audio.CLIP_SAMPLES:(i + 1) * audio.CLIP_SAMPLES])
                     for i in range(PATCHES)])


def timed(run, x: np.ndarray, batch: int, repeats: int) -> float:
    """Median milliseconds for all of ``x`` in batches of ``batch`` (after one warm-up)."""
    run(x[:batch])
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for i in range(0, len(x), batch):
            run(x[i:i + batch])
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def runtimes(network, spec, folder: Path):
    """(name, call, note) for each runtime; call(x) -> (tags, embedding)."""
    import tensorflow as tf

    from genre import backbone

    graph = tf.function(lambda a: network(a, training=False), input_signature=[spec], autograph=False)
    yield "TensorFlow graph (today)", lambda a: _pair(graph(a)), ""
    xla = tf.function(lambda a: network(a, training=False), input_signature=[spec], autograph=False,
                      jit_compile=True)
    yield "TensorFlow XLA (jit_compile)", lambda a: _pair(xla(a)), ""
    saved = folder / "saved"
    network.export(str(saved), format="tf_saved_model", verbose=False)  # what the converters read
    for name, options in (("float32", None), ("float16 weights", "fp16"), ("int8 dynamic range", "int8")):
        converter = tf.lite.TFLiteConverter.from_saved_model(str(saved))
        if options == "fp16":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.target_spec.supported_types = [tf.float16]
        elif options == "int8":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        path = folder / f"musicnn-{options or 'f32'}.tflite"
        path.write_bytes(converter.convert())
        yield f"LiteRT/TFLite XNNPACK, {name}", _tflite(path), f"{path.stat().st_size / 1e6:.1f} MB"
    from genre import runtime

    onnx = runtime.OnnxTagger(ROOT / "model" / runtime.ONNX_FILE, ROOT / "model" / backbone.MODEL_FILE)
    yield (f"ONNX Runtime (shipped: model/{runtime.ONNX_FILE})", lambda a: onnx(a, batch=len(a)),
           f"{runtime.threads()} threads, no spinning")


def _pair(out) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(out["tags"]), np.asarray(out["embedding"])


def _tflite(path: Path):
    import tensorflow as tf

    interpreter = tf.lite.Interpreter(model_path=str(path), num_threads=THREADS)
    inputs = interpreter.get_input_details()[0]
    outputs = {o["shape"][-1]: o["index"] for o in interpreter.get_output_details()}
    shape = None

    def run(a):
        nonlocal shape
        if shape != a.shape:
            interpreter.resize_tensor_input(inputs["index"], a.shape)
            interpreter.allocate_tensors()
            shape = a.shape
        interpreter.set_tensor(inputs["index"], a)
        interpreter.invoke()
        return interpreter.get_tensor(outputs[50]).copy(), interpreter.get_tensor(outputs[200]).copy()
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--isa", choices=isa.ISAS, help="run as on a CPU limited to this instruction set")
    args = parser.parse_args()
    isa.emulate(args.isa, "bench.runtimes")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    import tensorflow as tf

    from genre import backbone
    from genre.cnn import limit_blas_threads

    limit_blas_threads()
    network = keras.saving.load_model(ROOT / "model" / backbone.MODEL_FILE, compile=False)
    spec = tf.TensorSpec((None, backbone.PATCH_FRAMES, backbone.PATCH_MELS), tf.float32)
    x = patches()
    print(f"measured on {machine.cpu()}; instruction sets limited to {isa.emulated() or 'none: all of them'}; "
          f"load average {os.getloadavg()[0]:.1f} before")
    print(f"musicnn backbone, {PATCHES} patches of 3 s, median of {args.repeats}")
    print(f"{'runtime':<38}{'batch 1':>9}{'batch 4':>9}{'batch 10':>10}{'ms/patch':>10}  max |diff| tags, embedding")
    reference = None
    with tempfile.TemporaryDirectory(prefix="genre-runtimes-") as tmp:
        for name, run, note in runtimes(network, spec, Path(tmp)):
            if run is None:
                print(f"{name:<38}{note}")
                continue
            tags, emb = run(x)
            reference = reference or (tags, emb)
            diff = f"{np.abs(tags - reference[0]).max():.1e}, {np.abs(emb - reference[1]).max():.1e}"
            ms = [timed(run, x, b, args.repeats) for b in (1, 4, 10)]
            print(f"{name:<38}{ms[0]:>7.0f}ms{ms[1]:>7.0f}ms{ms[2]:>8.0f}ms{min(ms) / PATCHES:>8.1f}ms  {diff}"
                  + (f"  ({note})" if note else ""))
    print(f"load average {os.getloadavg()[0]:.1f} after")


if __name__ == "__main__":
    main()
