#!/usr/bin/python3
"""Inception (FID) test vectors for dit4j, computed with pytorch-fid's own code.

`/usr/bin/python3 scripts/make_inception_vectors.py PYTORCH_FID_CHECKOUT OUT_DIR [--save-weights FILE]`

PYTORCH_FID_CHECKOUT is a checkout of mseitzer/pytorch-fid; its src/pytorch_fid/inception.py and
fid_score.py are imported unchanged. The FID network is built by pytorch-fid itself; only the
download of the real weights is replaced by random weights in the same layout (566 keys), so
nothing of ~95 MB needs committing. The weights are reproducible without this script: tensor i
of the state dict (module order) is `torch.manual_seed(SEED + i); torch.randn(shape) * scale + shift`
with the rules in RULES; `num_batches_tracked` is 0. The Java test regenerates them the same way.

Writes to OUT_DIR:
  inception.vectors.safetensors  groups fid (64x64, N=3), fid2 (48x80, N=2), fd, fd_lowrank
  inception_e2e/{a,b}/*.png, inception_e2e.json  pytorch-fid's fid_score on two tiny folders
  legacy.pth, legacy.expected.safetensors  a small state dict in the legacy (pre-zip) torch.save format
"""
import io
import json
import math
import os
import struct
import sys
from collections import OrderedDict
from contextlib import redirect_stdout

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

SEED = 1000


def rule(key, shape):
    """(scale, shift, abs) for a key: x = |randn| * scale + shift if abs else randn * scale + shift."""
    if key.endswith("conv.weight"):
        fan_in = int(np.prod(shape[1:]))
        return math.sqrt(2.0 / fan_in), 0.0, False
    if key.endswith("bn.weight"):
        return 0.1, 1.0, False
    if key.endswith("bn.bias") or key.endswith("bn.running_mean"):
        return 0.1, 0.0, False
    if key.endswith("bn.running_var"):
        return 0.5, 0.5, True
    if key == "fc.weight":
        return 0.05 / math.sqrt(shape[1]), 0.0, False  # soft enough that the softmax is not one-hot
    if key == "fc.bias":
        return 0.1, 0.0, False
    raise KeyError(key)


def random_state_dict(layout):
    sd = OrderedDict()
    for i, (k, v) in enumerate(layout.items()):
        if k.endswith("num_batches_tracked"):
            sd[k] = torch.zeros((), dtype=torch.int64)
            continue
        scale, shift, use_abs = rule(k, tuple(v.shape))
        torch.manual_seed(SEED + i)
        r = torch.randn(tuple(v.shape))
        if use_abs:
            r = r.abs()
        sd[k] = r * scale + shift
    return sd


def load_pytorch_fid(checkout):
    sys.path.insert(0, os.path.join(checkout, "src"))
    from pytorch_fid import fid_score, inception  # noqa: E402
    return inception, fid_score


def install_random_weights(inception):
    """pytorch-fid downloads FID_WEIGHTS_URL; give it random weights in the layout it expects."""
    layout = inception._inception_v3(num_classes=1008, aux_logits=False, weights=None)
    state = {}

    def fake_download(url, progress=True):
        assert url == inception.FID_WEIGHTS_URL
        if "sd" not in state:
            # The layout of the FID net: torchvision's Inception3 with pytorch-fid's blocks swapped in
            # has the same keys and shapes; pytorch-fid's strict load_state_dict checks that below.
            state["sd"] = random_state_dict(layout.state_dict())
        return state["sd"]

    inception.load_state_dict_from_url = fake_download
    return state


def fid_group(net, fc_w, fc_b, images):
    seen = {}
    h1 = net.blocks[0].register_forward_pre_hook(lambda m, inp: seen.__setitem__("input299", inp[0][:1].clone()))
    # blocks[2] is Mixed_5b..Mixed_6e; index 6 is Mixed_6d.
    h2 = net.blocks[2][6].branch1x1.register_forward_hook(lambda m, inp, out: seen.__setitem__("conv", out.clone()))
    with torch.no_grad():
        outs = net(images)
    h1.remove()
    h2.remove()
    pooled = [F.adaptive_avg_pool2d(o, (1, 1)).squeeze(3).squeeze(2) for o in outs]
    pool3 = pooled[3]
    logits_nobias = pool3 @ fc_w.T
    conv7 = seen["conv"][:, :7]
    return {
        "input299": seen["input299"],
        "pool3": pool3,
        "pool64": pooled[0],
        "pool192": pooled[1],
        "pool768": pooled[2],
        "logits": logits_nobias + fc_b,
        "logits_nobias": logits_nobias,
        "softmax_nobias": torch.softmax(logits_nobias, dim=1),
        "mixed6_conv7": conv7,
        "spatial": conv7.permute(0, 2, 3, 1).reshape(conv7.shape[0], -1),
    }


def fd_group(fid_score, a, b):
    mu_a, mu_b = np.mean(a, axis=0), np.mean(b, axis=0)
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    out = io.StringIO()
    with redirect_stdout(out):
        value = fid_score.calculate_frechet_distance(mu_a, s_a, mu_b, s_b)
    t = lambda x: torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64))
    return {"a": t(a), "b": t(b), "mu_a": t(mu_a), "sigma_a": t(s_a), "mu_b": t(mu_b), "sigma_b": t(s_b),
            "value": t(np.array([value]))}, "singular product" in out.getvalue()


def write_vectors(path, tensors, metadata):
    # The shared writer (make_official_vectors); these files always carried a __metadata__ entry.
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from make_official_vectors import write_safetensors
    write_safetensors(path, tensors, metadata, empty_metadata=True)


def save_pngs(folder, images):
    os.makedirs(folder, exist_ok=True)
    for i, img in enumerate(images):
        Image.fromarray(img).save(os.path.join(folder, "%02d.png" % i))


def main():
    args = sys.argv[1:]
    save_weights = None
    if "--save-weights" in args:
        j = args.index("--save-weights")
        save_weights = args[j + 1]
        del args[j:j + 2]
    checkout, out_dir = args
    os.makedirs(out_dir, exist_ok=True)
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    inception, fid_score = load_pytorch_fid(checkout)
    state = install_random_weights(inception)

    net = inception.InceptionV3([0, 1, 2, 3]).eval()  # pytorch-fid's FID network, strict load
    sd = state["sd"]
    assert len(sd) == 566, len(sd)
    if save_weights:
        torch.save(sd, save_weights)
    fc_w, fc_b = sd["fc.weight"], sd["fc.bias"]

    tensors, meta = OrderedDict(), {}
    g = torch.Generator().manual_seed(7)
    for group, (n, h, w) in {"fid": (3, 64, 64), "fid2": (2, 48, 80)}.items():
        images = torch.rand(n, 3, h, w, generator=g)
        res = fid_group(net, fc_w, fc_b, images)
        tensors[group + ".images"] = images
        for k, v in res.items():
            if group == "fid2" and k == "input299":
                continue  # 1 MB each: one group carries it
            tensors[group + "." + k] = v
        print(group, {k: (tuple(v.shape), float(v.abs().max())) for k, v in res.items()})

    rng = np.random.default_rng(11)
    mix = rng.standard_normal((6, 6))
    fd_a = rng.standard_normal((40, 6)) @ mix
    fd_b = rng.standard_normal((40, 6)) @ mix * 0.8 + 0.3
    low_a = rng.standard_normal((4, 6))
    low_b = rng.standard_normal((4, 6)) + 0.5
    for group, (a, b) in {"fd": (fd_a, fd_b), "fd_lowrank": (low_a, low_b)}.items():
        res, offset = fd_group(fid_score, a, b)
        for k, v in res.items():
            tensors[group + "." + k] = v
        meta[group + "_offset"] = str(offset)
        print(group, float(res["value"][0]), "offset retry" if offset else "no offset")

    meta["inception_weights"] = json.dumps({"seed": SEED, "rule": "see scripts/make_inception_vectors.py"})
    write_vectors(os.path.join(out_dir, "inception.vectors.safetensors"), tensors, meta)

    # End to end: pytorch-fid's fid_score on two folders of PNGs.
    rng = np.random.default_rng(3)
    base = rng.integers(0, 256, (1, 32, 32, 3))
    a = np.clip(base + rng.integers(-40, 41, (6, 32, 32, 3)), 0, 255).astype(np.uint8)
    b = np.clip(base * 0.7 + rng.integers(-60, 61, (5, 32, 32, 3)), 0, 255).astype(np.uint8)
    e2e = os.path.join(out_dir, "inception_e2e")
    save_pngs(os.path.join(e2e, "a"), a)
    save_pngs(os.path.join(e2e, "b"), b)
    result = {}
    for dims in (2048, 64):
        out = io.StringIO()
        with redirect_stdout(out):
            v = fid_score.calculate_fid_given_paths([os.path.join(e2e, "a"), os.path.join(e2e, "b")], 4, "cpu", dims, 0)
        result["fid_%d" % dims] = float(v)
        result["offset_%d" % dims] = "singular product" in out.getvalue()
    print("e2e", result)
    with open(os.path.join(out_dir, "inception_e2e.json"), "w") as f:
        json.dump(result, f, indent=1)

    # A legacy-format file: shared storage, a non-contiguous view, several dtypes.
    torch.manual_seed(5)
    big = torch.randn(4, 6)
    legacy = OrderedDict()
    legacy["conv.weight"] = torch.randn(3, 2, 3, 3)
    legacy["bn.running_var"] = torch.rand(3).double()
    legacy["bn.num_batches_tracked"] = torch.tensor(7)
    legacy["view"] = big[1:3]
    legacy["transposed"] = big.t()
    legacy["half"] = torch.randn(5).half()
    torch.save(legacy, os.path.join(out_dir, "legacy.pth"), _use_new_zipfile_serialization=False)
    write_vectors(os.path.join(out_dir, "legacy.expected.safetensors"),
                  OrderedDict((k, v.float() if v.dtype == torch.float16 else v) for k, v in legacy.items()), {})


if __name__ == "__main__":
    main()
