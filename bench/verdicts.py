"""Every verdict on the demos and the GTZAN files, to prove a change of code changed none of them.

Prints figures; asserts nothing. Run before and after a change (for example in a ``git worktree``
of the old commit, with ``PYTHONPATH`` on it), then compare:

    python -m bench.verdicts dump before.json [--model DIR] [--data DIR] [--image-share 3]
    python -m bench.verdicts compare before.json after.json

A dump holds, per file, the song's probabilities, ``unsure`` and ``why_unsure``. Mel images go
through ``model.judge`` (one in ``--image-share``: the image path is the same code for all).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from tests.support import ROOT


def dump(out: Path, model_dir: Path | None, data_dir: Path, image_share: int) -> None:
    from genre import load_model, predict
    from genre.training import data, evaluate

    model = load_model(model_dir)
    verdicts = {}
    for path in sorted((ROOT / "assets" / "demo").glob("*.mp3")):
        r = predict(path, model)
        verdicts[f"demo/{path.name}"] = [list(r.probabilities.values()), r.unsure, r.why_unsure]
    for n, item in enumerate(data.find_items(data_dir)):
        if item.kind == "mel-image":
            if n % image_share:
                continue
            v = model.judge(evaluate.windows_of(item))
            verdicts[f"{item.kind}/{item.id}"] = [v.song_probs.tolist(), v.unsure, v.why_unsure]
        else:
            r = predict(item.path, model)
            verdicts[f"{item.kind}/{item.id}"] = [list(r.probabilities.values()), r.unsure, r.why_unsure]
    out.write_text(json.dumps(verdicts))
    print(f"{len(verdicts)} verdicts in {out}")


def compare(before: Path, after: Path) -> None:
    a, b = json.loads(before.read_text()), json.loads(after.read_text())
    common = sorted(a.keys() & b.keys())
    worst = max((abs(x - y) for k in common for x, y in zip(a[k][0], b[k][0])), default=0.0)
    changed = [k for k in common if a[k][1:] != b[k][1:]]
    print(f"{len(common)} files in both ({len(a.keys() ^ b.keys())} in one only); largest probability "
          f"difference {worst:.2e}; unsure or its sentence changed on {len(changed)}: {changed[:10]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("dump")
    d.add_argument("out", type=Path)
    d.add_argument("--model", type=Path)
    d.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "gtzan")
    d.add_argument("--image-share", type=int, default=3)
    c = sub.add_parser("compare")
    c.add_argument("before", type=Path)
    c.add_argument("after", type=Path)
    args = parser.parse_args()
    if args.command == "dump":
        dump(args.out, args.model, args.data, args.image_share)
    else:
        compare(args.before, args.after)


if __name__ == "__main__":
    main()
