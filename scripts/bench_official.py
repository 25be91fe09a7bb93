#!/usr/bin/python3
"""Benchmark of the official DiT code (facebookresearch/DiT) on this machine, with the protocol of
`dit bench`: a full training step (t, training_losses, backward, AdamW, EMA update) or a guided DDPM
sampling step (forward_with_cfg on 2B rows + p_sample), after warm-up, over a fixed time split into
repeats; prints one JSON object. Peak RSS is the process's VmHWM.

    /usr/bin/python3 scripts/bench_official.py --dit-repo PATH/TO/DiT --mode train --seconds 30

The official models.py imports three layers from timm; when timm is not installed (Debian has no
package) a stand-in with the same parameters and math (timm's non-fused attention path, the one
timm takes on PyTorch 1.13) is put on the path.
"""
import argparse, json, os, statistics, sys, tempfile, time

SHIM = '''
import torch, torch.nn as nn
class PatchEmbed(nn.Module):
    def __init__(self, img_size, patch_size, in_chans, embed_dim, bias=True):
        super().__init__()
        self.patch_size = (patch_size, patch_size)
        self.num_patches = (img_size // patch_size) ** 2
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size, bias=bias)
    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)
class Attention(nn.Module):
    def __init__(self, dim, num_heads=8, qkv_bias=False, **kw):
        super().__init__()
        self.num_heads, self.scale = num_heads, (dim // num_heads) ** -0.5
        self.qkv, self.proj = nn.Linear(dim, dim * 3, bias=qkv_bias), nn.Linear(dim, dim)
    def forward(self, x):
        B, N, C = x.shape
        q, k, v = self.qkv(x).reshape(B, N, 3, self.num_heads, C // self.num_heads).permute(2, 0, 3, 1, 4).unbind(0)
        attn = ((q * self.scale) @ k.transpose(-2, -1)).softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(B, N, C))
class Mlp(nn.Module):
    def __init__(self, in_features, hidden_features=None, act_layer=nn.GELU, drop=0, **kw):
        super().__init__()
        self.fc1, self.act, self.fc2 = nn.Linear(in_features, hidden_features), act_layer(), nn.Linear(hidden_features, in_features)
    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))
'''


def blas_library():
    """The BLAS shared library the process mapped (Debian's python3-torch uses whatever libblas.so.3 points to)."""
    with open("/proc/self/maps") as f:
        for line in f:
            if "blas" in line and ".so" in line:
                return line.split()[-1]
    return "unknown"


def peak_rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return -1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dit-repo", required=True)
    ap.add_argument("--model", default="DiT-S/2")
    ap.add_argument("--latent-size", type=int, default=32)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--mode", choices=["train", "sample"], default="train")
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    try:
        import timm  # noqa: F401
    except ImportError:
        d = tempfile.mkdtemp()
        os.makedirs(os.path.join(d, "timm", "models"))
        open(os.path.join(d, "timm", "__init__.py"), "w").close()
        open(os.path.join(d, "timm", "models", "__init__.py"), "w").close()
        with open(os.path.join(d, "timm", "models", "vision_transformer.py"), "w") as f:
            f.write(SHIM)
        sys.path.insert(0, d)
    sys.path.insert(0, a.dit_repo)
    import torch
    from copy import deepcopy
    from models import DiT_models
    from diffusion import create_diffusion

    torch.manual_seed(0)
    model = DiT_models[a.model](input_size=a.latent_size, num_classes=1000)
    B, C, S = a.batch, 4, a.latent_size
    if a.mode == "train":
        ema = deepcopy(model)
        for p in ema.parameters():
            p.requires_grad_(False)
        diffusion = create_diffusion(timestep_respacing="")
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0)
        model.train()
        x, y = torch.randn(B, C, S, S), torch.randint(0, 1000, (B,))

        def step():
            t = torch.randint(0, diffusion.num_timesteps, (B,))
            loss = diffusion.training_losses(model, x, t, dict(y=y))["loss"].mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            with torch.no_grad():
                ema_params, params = dict(ema.named_parameters()), dict(model.named_parameters())
                for name, p in params.items():
                    ema_params[name].mul_(0.9999).add_(p.data, alpha=1 - 0.9999)
    else:
        torch.set_grad_enabled(False)
        model.eval()
        diffusion = create_diffusion("250")
        z = torch.randn(B, C, S, S)
        x = torch.cat([z, z], 0)
        y = torch.cat([torch.arange(B) % 1000, torch.full((B,), 1000)])
        t = torch.full((2 * B,), 125)

        def step():
            nonlocal x
            x = diffusion.p_sample(model.forward_with_cfg, x, t, clip_denoised=False, model_kwargs=dict(y=y, cfg_scale=4.0))["sample"]

    end = time.time() + a.seconds * 0.1
    warm = 0
    while warm < 3 or time.time() < end:
        step()
        warm += 1
    ips, steps, total = [], 0, 0.0
    for _ in range(a.repeats):
        t0 = time.time()
        n = 0
        while True:
            step()
            n += 1
            if time.time() - t0 >= a.seconds / a.repeats:
                break
        sec = time.time() - t0
        ips.append(n * B / sec)
        steps += n
        total += sec
    print(json.dumps({"implementation": "official DiT, PyTorch " + torch.__version__, "model": a.model, "mode": a.mode,
                      "batch": B, "images_per_s": statistics.median(ips), "images_per_s_min": min(ips),
                      "images_per_s_max": max(ips), "ms_per_step": 1000 * total / steps, "steps": steps,
                      "peak_rss_mb": peak_rss_mb(), "threads": torch.get_num_threads(), "blas": blas_library()}))


if __name__ == "__main__":
    main()
