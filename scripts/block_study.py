#!/usr/bin/python3
"""Scores and tabulates the block-design study (scripts/block_study.sh).

    /usr/bin/python3 scripts/block_study.py runs/block-study adaln-zero adaln ...

For every OUT/NAME/eval/STEP/samples.npz it computes what `scripts/demo_score.py --json` prints
(the same judge and functions, imported; the judge and the test set's features computed once
instead of once per file) and caches it as score.json next to the samples. DEMO_SCORE=FILE scores
with another demo_score.py, e.g. the lenient single classifier it replaced (no judge(): its Net
and cache are used, no confidence). Then it writes
OUT/points.tsv (run, step, training minutes from log.jsonl, agreement, FD) for the figure and
OUT/table.md, the markdown table of docs/architecture.md.
"""
import json, os, re, sys
import numpy as np
import torch

import importlib.util  # noqa: E402

_file = os.environ.get("DEMO_SCORE", os.path.join(os.path.dirname(os.path.abspath(__file__)), "demo_score.py"))
_spec = importlib.util.spec_from_file_location("demo_score", _file)
ds = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ds)
STRICT = hasattr(ds, "judge")
if not STRICT:  # the old script: one CNN, loaded (or trained) as its main() does
    ds.CLASSES = ["T-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot"]

    def _judge():
        if not os.path.exists(ds.CACHE):
            return [ds.train().eval()], None, None
        m = ds.Net()
        m.load_state_dict(torch.load(ds.CACHE))
        return [m.eval()], None, None

    def _probs(models, x):
        with torch.no_grad():
            return models[0](x).softmax(1)

    def _features(models, x):
        with torch.no_grad():
            return models[0].features(x).numpy()

    ds.judge, ds.probs, ds.features = _judge, _probs, _features


def score(models, real, path):
    d = np.load(path)
    x = torch.from_numpy(d["arr_0"]).permute(0, 3, 1, 2).float() / 127.5 - 1
    y = torch.from_numpy(d["labels"]).long()
    top, pred = ds.probs(models, x).max(1)
    per = {ds.CLASSES[k]: round((pred[y == k] == k).float().mean().item(), 3) for k in range(10) if (y == k).any()}
    return {"agreement": round((pred == y).float().mean().item(), 4), "per_class": per,
            "fd": round(ds.frechet(ds.features(models, x), real), 3), "n": len(y),
            "confidence": round(top.mean().item(), 4), "unsure": round((top < 0.5).float().mean().item(), 4),
            "judge": "strict" if STRICT else "old"}


def write_atomic(path, text):
    with open(path + ".part", "w") as f:
        f.write(text)
    os.replace(path + ".part", path)


def log_at(run_dir):
    """step -> (elapsed seconds, loss) from the run's log.jsonl."""
    out = {}
    with open(os.path.join(run_dir, "log.jsonl")) as f:
        for line in f:
            r = json.loads(line)
            if "step" in r and "elapsed_s" in r:
                out[r["step"]] = (r["elapsed_s"], r.get("loss"))
    return out


def main():
    out, names = sys.argv[1], sys.argv[2:]
    torch.set_num_threads(2)
    models, real = None, None
    rows, points = [], ["run\tstep\tminutes\tagreement\tfd"]
    for name in names:
        run = os.path.join(out, name)
        if not os.path.isdir(os.path.join(run, "eval")):
            print(f"{name}: no samples yet, left out", file=sys.stderr)
            continue
        log = log_at(run)
        head = open(os.path.join(out, name + ".train.txt")).read()
        m = re.search(r"([\d,]+) parameters, ([\d.]+) Gflops", head)
        scores = []
        for step in sorted(os.listdir(os.path.join(run, "eval")), key=int):
            cached = os.path.join(run, "eval", step, "score.json")
            if os.path.exists(cached) and json.load(open(cached)).get("judge") != ("strict" if STRICT else "old"):
                os.remove(cached)  # scored by the other judge
            if not os.path.exists(cached):
                if models is None:
                    models = ds.judge()[0]
                    real = ds.features(models, ds.load("t10k")[0])
                write_atomic(cached, json.dumps(score(models, real, os.path.join(run, "eval", step, "samples.npz"))) + "\n")
            s = json.load(open(cached))
            secs, _ = log[int(step)]
            scores.append((int(step), secs, s))
            points.append(f"{name}\t{int(step)}\t{secs / 60:.3f}\t{s['agreement']}\t{s['fd']}")
        rows.append((name, m.group(1) if m else "?", scores))
    write_atomic(os.path.join(out, "points.tsv"), "\n".join(points) + "\n")
    steps = [s for s, _, _ in rows[0][2]]
    t = ["| run | parameters | " + " | ".join(f"step {s:,}" for s in steps) + " | training time |",
         "| --- | --- | " + " | ".join("---" for _ in steps) + " | --- |"]
    for name, params, scores in rows:
        cells = [f"{s['agreement'] * 100:.1f}% / {s['fd']:.1f}" for _, _, s in scores]
        mins = scores[-1][1] / 60
        t.append(f"| `{name}` | {params} | " + " | ".join(cells) + f" | {int(mins)}:{round(mins % 1 * 60):02d} |")
    write_atomic(os.path.join(out, "table.md"), "\n".join(t) + "\n")
    print("\n".join(t))


if __name__ == "__main__":
    main()
