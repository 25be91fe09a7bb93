#!/usr/bin/python3
"""Scores the demo's samples the way the demo issue judges them, with an independent classifier.

    /usr/bin/python3 scripts/demo_score.py runs/demo/eval/samples.npz
    /usr/bin/python3 scripts/demo_score.py --real      # the floor: 100 real training images per class

On first use it trains a small CNN on the Fashion-MNIST training set (Debian's
dataset-fashion-mnist; ~2 minutes on 2 cores, 4 epochs, flips after the first) and caches it in
~/.cache/dit4j/fmnist-clf.pt. Then, for the samples (`arr_0` uint8 N x 28 x 28 x 1, `labels`):
- agreement: the share the classifier assigns to the requested class, overall and per class;
- FD: the Frechet distance between the classifier's 256-d penultimate features of the samples
  and of the 10,000 test images (an FID-like statistic in a Fashion-MNIST feature space).
Only numpy and PyTorch 1.13 (Debian python3-torch); the matrix square root goes through
symmetric eigendecompositions, so scipy is not needed.
"""
import gzip, os, sys, time
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DATA = os.environ.get("DIT_FASHION_MNIST", "/usr/share/datasets/fashion-mnist")
CACHE = os.path.expanduser("~/.cache/dit4j/fmnist-clf.pt")


def load(kind):
    x = np.frombuffer(gzip.open(f"{DATA}/{kind}-images-idx3-ubyte.gz").read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)
    y = np.frombuffer(gzip.open(f"{DATA}/{kind}-labels-idx1-ubyte.gz").read(), np.uint8, offset=8)
    return torch.from_numpy(x.copy()).float() / 127.5 - 1, torch.from_numpy(y.astype(np.int64))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1, self.c2, self.c3 = nn.Conv2d(1, 32, 3, padding=1), nn.Conv2d(32, 64, 3, padding=1), nn.Conv2d(64, 128, 3, padding=1)
        self.fc, self.out = nn.Linear(128 * 3 * 3, 256), nn.Linear(256, 10)

    def features(self, x):
        for conv in (self.c1, self.c2, self.c3):
            x = F.max_pool2d(F.relu(conv(x)), 2)
        return F.relu(self.fc(x.flatten(1)))

    def forward(self, x):
        return self.out(self.features(x))


def train():
    xtr, ytr = load("train")
    xte, yte = load("t10k")
    torch.manual_seed(0)
    m = Net()
    opt = torch.optim.Adam(m.parameters(), 1e-3)
    for ep in range(4):
        perm, t0 = torch.randperm(len(xtr)), time.time()
        for i in range(0, len(xtr), 128):
            idx = perm[i:i + 128]
            x = xtr[idx]
            if ep > 0:
                x = torch.where(torch.rand(len(x), 1, 1, 1) < 0.5, x.flip(3), x)
            loss = F.cross_entropy(m(x), ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            acc = (m(xte).argmax(1) == yte).float().mean().item()
        print(f"classifier epoch {ep}: test accuracy {acc:.4f} ({time.time() - t0:.0f} s)", file=sys.stderr)
    os.makedirs(os.path.dirname(CACHE), exist_ok=True)
    torch.save(m.state_dict(), CACHE + ".part")
    os.replace(CACHE + ".part", CACHE)
    return m


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
    if len(sys.argv) != 2:
        sys.exit("usage: demo_score.py SAMPLES.npz | --real")
    torch.set_num_threads(1)
    if os.path.exists(CACHE):
        m = Net()
        m.load_state_dict(torch.load(CACHE))
    else:
        m = train()
    m.eval()
    if sys.argv[1] == "--real":
        xtr, ytr = load("train")
        idx = torch.cat([torch.nonzero(ytr == k)[:100, 0] for k in range(10)])
        x, y = xtr[idx], ytr[idx]
    else:
        d = np.load(sys.argv[1])
        x = torch.from_numpy(d["arr_0"]).permute(0, 3, 1, 2).float() / 127.5 - 1
        y = torch.from_numpy(d["labels"])
    with torch.no_grad():
        pred, f = m(x).argmax(1), m.features(x).numpy()
        real = m.features(load("t10k")[0]).numpy()
    per = [round((pred[y == k] == k).float().mean().item(), 2) for k in range(10)]
    print(f"agreement {(pred == y).float().mean().item():.3f}  per-class {per}  FD {frechet(f, real):.2f}  n={len(y)}")


if __name__ == "__main__":
    main()
