#!/usr/bin/python3
"""Scores the demo's samples with an independent, strict Fashion-MNIST judge.

    /usr/bin/python3 scripts/demo_score.py runs/demo/eval/samples.npz
    /usr/bin/python3 scripts/demo_score.py --real      # the floor: 100 real test images per class
    add --json for one JSON object {agreement, per_class, fd, n, confidence, unsure}

The judge is an ensemble of three small VGG-style CNNs with BatchNorm (16-32-64 channels, global
average pooling), each trained with a different seed on the Fashion-MNIST training set (Debian's
dataset-fashion-mnist) with random 2-pixel shifts (pad 2, crop 28) and horizontal flips, SGD with
a one-cycle schedule, 7 epochs (an estimated ~10 minutes on 2 idle cores). Each member and its
test accuracy is cached in ~/.cache/dit4j/fmnist-judge-v2.pt as soon as it is trained (an interrupted
run resumes). The decision is the averaged softmax.
For the samples (`arr_0` uint8 N x 28 x 28 x 1, `labels`) it prints:
- agreement: the share the judge assigns to the requested class, overall and per class;
- FD: the Frechet distance between the samples and the 10,000 test images in the judge's feature
  space (the three members' pooled 64-d features, concatenated: 192-d);
- confidence: the mean top probability, and the share of samples whose top probability is below
  0.5 ("unsure"; blobs that look like no class land here).
--real takes its images from the test set, which the judge never trained on, so its numbers are
an honest floor (its FD is not zero: 1,000 images against 10,000).
Only numpy and PyTorch 1.13 (Debian python3-torch); the matrix square root goes through
symmetric eigendecompositions, so scipy is not needed.
"""
import argparse, gzip, json, os, sys, time
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DATA = os.environ.get("DIT_FASHION_MNIST", "/usr/share/datasets/fashion-mnist")
CACHE = os.path.expanduser("~/.cache/dit4j/fmnist-judge-v2.pt")
CLASSES = ["T-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot"]
SEEDS, EPOCHS, WIDTH, BATCH = (0, 1, 2), 7, 16, 128


def load(kind):
    x = np.frombuffer(gzip.open(f"{DATA}/{kind}-images-idx3-ubyte.gz").read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)
    y = np.frombuffer(gzip.open(f"{DATA}/{kind}-labels-idx1-ubyte.gz").read(), np.uint8, offset=8)
    return torch.from_numpy(x.copy()).float() / 127.5 - 1, torch.from_numpy(y.astype(np.int64))


def block(cin, cout):
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class Net(nn.Module):
    def __init__(self, c=WIDTH):
        super().__init__()
        self.body = nn.Sequential(*block(1, c), *block(c, c), nn.MaxPool2d(2),
                                  *block(c, 2 * c), *block(2 * c, 2 * c), nn.MaxPool2d(2),
                                  *block(2 * c, 4 * c), *block(4 * c, 4 * c), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.out = nn.Linear(4 * c, 10)

    def features(self, x):
        return self.body(x)

    def forward(self, x):
        return self.out(self.body(x))


def augment(x):
    # Random shift by up to 2 pixels (pad with background, crop 28) and a horizontal flip.
    p = F.pad(x, (2, 2, 2, 2), value=-1.0)
    dx, dy = torch.randint(0, 5, (2, len(x))).tolist()
    x = torch.stack([p[i, :, dy[i]:dy[i] + 28, dx[i]:dx[i] + 28] for i in range(len(x))])
    return torch.where(torch.rand(len(x), 1, 1, 1) < 0.5, x.flip(3), x)


def probs(models, x):
    with torch.no_grad():
        return torch.stack([torch.cat([m(x[i:i + 1000]).softmax(1) for i in range(0, len(x), 1000)]) for m in models]).mean(0)


def save(c):
    os.makedirs(os.path.dirname(CACHE), exist_ok=True)
    torch.save(c, CACHE + ".part")
    os.replace(CACHE + ".part", CACHE)


def train_member(seed, xtr, ytr, xte, yte):
    torch.manual_seed(seed)
    m = Net().to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(m.parameters(), 0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
    steps = EPOCHS * ((len(xtr) + BATCH - 1) // BATCH)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 0.1, total_steps=steps, pct_start=0.25)
    for ep in range(EPOCHS):
        m.train()
        perm, t0 = torch.randperm(len(xtr)), time.time()
        for i in range(0, len(xtr), BATCH):
            idx = perm[i:i + BATCH]
            loss = F.cross_entropy(m(augment(xtr[idx]).contiguous(memory_format=torch.channels_last)), ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        m.eval()
        acc = (probs([m], xte).argmax(1) == yte).float().mean().item()
        print(f"judge seed {seed} epoch {ep}: test accuracy {acc:.4f} ({time.time() - t0:.0f} s)", file=sys.stderr, flush=True)
    return m, acc


def judge():
    # Each member is cached as soon as it is trained, so an interrupted run resumes where it stopped.
    c = torch.load(CACHE) if os.path.exists(CACHE) else {"width": WIDTH, "members": [], "member_acc": [], "ensemble_acc": None}
    models = []
    for sd in c["members"]:
        m = Net(c["width"])
        m.load_state_dict(sd)
        models.append(m.eval())
    if len(models) < len(SEEDS):
        xtr, ytr = load("train")
        xte, yte = load("t10k")
        for seed in SEEDS[len(models):]:
            m, acc = train_member(seed, xtr, ytr, xte, yte)
            models.append(m.eval())
            c["members"].append(m.state_dict())
            c["member_acc"].append(acc)
            if len(models) == len(SEEDS):
                c["ensemble_acc"] = (probs(models, xte).argmax(1) == yte).float().mean().item()
                print(f"judge members' test accuracy {[round(a, 4) for a in c['member_acc']]}, "
                      f"ensemble {c['ensemble_acc']:.4f}", file=sys.stderr)
            save(c)
    return models, c["member_acc"], c["ensemble_acc"]


def features(models, x):
    with torch.no_grad():
        return torch.cat([torch.cat([m.features(x[i:i + 1000]) for i in range(0, len(x), 1000)]) for m in models], 1).double().numpy()


def sqrtm_psd(a):
    w, v = np.linalg.eigh(a)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet(a, b):
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    r1 = sqrtm_psd(s1)
    # trace(sqrtm(s1 s2)) = trace(sqrtm(r1 s2 r1)), the latter symmetric PSD.
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(sqrtm_psd(r1 @ s2 @ r1)))


def main():
    ap = argparse.ArgumentParser(description="Score Fashion-MNIST samples with a strict independent judge.")
    ap.add_argument("samples", nargs="?", help="npz with arr_0 uint8 [N,28,28,1] and labels int64 [N]")
    ap.add_argument("--real", action="store_true", help="score 100 real test images per class instead (the floor)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    a = ap.parse_args()
    if a.real == (a.samples is not None):
        ap.error("give SAMPLES.npz or --real")
    torch.set_num_threads(2)
    models, accs, ens = judge()
    xte, yte = load("t10k")
    if a.real:
        idx = torch.cat([torch.nonzero(yte == k)[:100, 0] for k in range(10)])
        x, y = xte[idx], yte[idx]
    else:
        d = np.load(a.samples)
        if "arr_0" not in d or "labels" not in d or d["arr_0"].shape[1:] != (28, 28, 1) or len(d["arr_0"]) != len(d["labels"]):
            sys.exit(f"{a.samples}: expected arr_0 uint8 [N,28,28,1] and labels [N]")
        x = torch.from_numpy(d["arr_0"]).permute(0, 3, 1, 2).float() / 127.5 - 1
        y = torch.from_numpy(d["labels"]).long()
    p = probs(models, x)
    top, pred = p.max(1)
    per = {CLASSES[k]: round((pred[y == k] == k).float().mean().item(), 3) for k in range(10) if (y == k).any()}
    out = {"agreement": round((pred == y).float().mean().item(), 4), "per_class": per,
           "fd": round(frechet(features(models, x), features(models, xte)), 3), "n": len(y),
           "confidence": round(top.mean().item(), 4), "unsure": round((top < 0.5).float().mean().item(), 4)}
    if a.json:
        print(json.dumps(out))
        return
    print(f"judge: {len(models)} CNNs, test accuracy {', '.join(f'{v:.4f}' for v in accs)}; ensemble {ens:.4f}")
    print(f"agreement {out['agreement']:.3f}  FD {out['fd']:.2f}  n={out['n']}  "
          f"confidence {out['confidence']:.3f}  unsure (top p < 0.5) {out['unsure']:.3f}")
    print("per class: " + ", ".join(f"{k} {v:.2f}" for k, v in per.items()))


if __name__ == "__main__":
    main()
