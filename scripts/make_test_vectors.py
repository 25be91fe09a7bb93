#!/usr/bin/python3
"""Reference test vectors and checkpoint fixtures for dit4j, from an independent PyTorch DiT.

Written for Debian's python3-torch (1.13): `/usr/bin/python3 scripts/make_test_vectors.py OUT_DIR`.
It implements DiT and the Gaussian diffusion of the paper's official code in plain PyTorch (same
parameter names, same numerics), builds a few small models with non-trivial weights, and writes
for each configuration NAME:

  NAME.vectors.safetensors   the groups of docs/test-vectors.md, computed with the EMA weights
  NAME.state_dict.pt         torch.save(ema.state_dict())
  NAME.train.pt              {"model", "ema", "opt", "args"} as the official train.py saves (args a Namespace)
  NAME.safetensors           the EMA state dict as safetensors

The Java tests read these files; nothing here runs at test time.
"""
import argparse
import json
import math
import os
import struct
import sys
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


# ----------------------------------------------------------------------------- model

def modulate(x, shift, scale):
    return x * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1)


class PatchEmbed(nn.Module):
    def __init__(self, in_ch, dim, patch):
        super().__init__()
        self.proj = nn.Conv2d(in_ch, dim, kernel_size=patch, stride=patch, bias=True)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class TimestepEmbedder(nn.Module):
    def __init__(self, dim, freq_dim=256):
        super().__init__()
        self.freq_dim = freq_dim
        self.mlp = nn.Sequential(nn.Linear(freq_dim, dim), nn.SiLU(), nn.Linear(dim, dim))

    @staticmethod
    def timestep_embedding(t, dim, max_period=10000):
        half = dim // 2
        freqs = torch.exp(-math.log(max_period) * torch.arange(0, half, dtype=torch.float32) / half)
        args = t[:, None].float() * freqs[None]
        emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
        if dim % 2:
            emb = torch.cat([emb, torch.zeros_like(emb[:, :1])], dim=-1)
        return emb

    def forward(self, t):
        return self.mlp(self.timestep_embedding(t, self.freq_dim))


class LabelEmbedder(nn.Module):
    def __init__(self, num_classes, dim, dropout_prob):
        super().__init__()
        self.embedding_table = nn.Embedding(num_classes + int(dropout_prob > 0), dim)
        self.num_classes = num_classes
        self.dropout_prob = dropout_prob

    def forward(self, labels, train):
        if train and self.dropout_prob > 0:
            drop = torch.rand(labels.shape[0]) < self.dropout_prob
            labels = torch.where(drop, self.num_classes, labels)
        return self.embedding_table(labels)


class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        att = (q * (c // self.heads) ** -0.5) @ k.transpose(-2, -1)
        out = att.softmax(dim=-1) @ v
        return self.proj(out.transpose(1, 2).reshape(b, n, c))


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x), approximate="tanh"))


class Block(nn.Module):
    def __init__(self, dim, heads, mlp_ratio):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(dim, 6 * dim))

    def forward(self, x, c):
        sa, sc, ga, sm, scm, gm = self.adaLN_modulation(c).chunk(6, dim=1)
        x = x + ga.unsqueeze(1) * self.attn(modulate(self.norm1(x), sa, sc))
        return x + gm.unsqueeze(1) * self.mlp(modulate(self.norm2(x), sm, scm))


class FinalLayer(nn.Module):
    def __init__(self, dim, patch, out_ch):
        super().__init__()
        self.norm_final = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.linear = nn.Linear(dim, patch * patch * out_ch)
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(dim, 2 * dim))

    def forward(self, x, c):
        shift, scale = self.adaLN_modulation(c).chunk(2, dim=1)
        return self.linear(modulate(self.norm_final(x), shift, scale))


def sincos_1d(dim, pos):
    omega = 1.0 / 10000 ** (np.arange(dim // 2, dtype=np.float64) / (dim / 2.0))
    out = np.outer(pos.reshape(-1), omega)
    return np.concatenate([np.sin(out), np.cos(out)], axis=1)


def sincos_2d(dim, grid):
    cols, rows = np.meshgrid(np.arange(grid, dtype=np.float32), np.arange(grid, dtype=np.float32))
    return np.concatenate([sincos_1d(dim // 2, cols), sincos_1d(dim // 2, rows)], axis=1)


class DiT(nn.Module):
    def __init__(self, input_size, patch_size, in_channels, hidden_size, depth, num_heads,
                 mlp_ratio, class_dropout_prob, num_classes, learn_sigma):
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = in_channels * 2 if learn_sigma else in_channels
        self.patch = patch_size
        self.x_embedder = PatchEmbed(in_channels, hidden_size, patch_size)
        self.t_embedder = TimestepEmbedder(hidden_size)
        self.y_embedder = LabelEmbedder(num_classes, hidden_size, class_dropout_prob)
        grid = input_size // patch_size
        self.pos_embed = nn.Parameter(torch.from_numpy(sincos_2d(hidden_size, grid)).float().unsqueeze(0), requires_grad=False)
        self.blocks = nn.ModuleList([Block(hidden_size, num_heads, mlp_ratio) for _ in range(depth)])
        self.final_layer = FinalLayer(hidden_size, patch_size, self.out_channels)

    def unpatchify(self, x):
        c, p = self.out_channels, self.patch
        g = int(x.shape[1] ** 0.5)
        x = x.reshape(x.shape[0], g, g, p, p, c).permute(0, 5, 1, 3, 2, 4)
        return x.reshape(x.shape[0], c, g * p, g * p)

    def forward(self, x, t, y):
        x = self.x_embedder(x) + self.pos_embed
        c = self.t_embedder(t) + self.y_embedder(y, self.training)
        for block in self.blocks:
            x = block(x, c)
        return self.unpatchify(self.final_layer(x, c))

    def forward_with_cfg(self, x, t, y, scale):
        half = x[: len(x) // 2]
        out = self.forward(torch.cat([half, half]), t, y)
        eps, rest = out[:, :3], out[:, 3:]
        cond, uncond = torch.split(eps, len(eps) // 2)
        guided = uncond + scale * (cond - uncond)
        return torch.cat([torch.cat([guided, guided]), rest], dim=1)


# ----------------------------------------------------------------------------- diffusion

def betas_for(schedule, steps):
    if schedule == "linear":
        s = 1000 / steps
        return np.linspace(s * 0.0001, s * 0.02, steps, dtype=np.float64)
    f = lambda t: math.cos((t + 0.008) / 1.008 * math.pi / 2) ** 2
    return np.array([min(1 - f((i + 1) / steps) / f(i / steps), 0.999) for i in range(steps)], dtype=np.float64)


def spaced(steps, count):
    """Timesteps kept by respacing to `count` equal-stride sections (one section)."""
    if count == steps:
        return list(range(steps))
    stride = (steps - 1) / (count - 1) if count > 1 else 1
    cur, out = 0.0, set()
    for _ in range(count):
        out.add(round(cur))
        cur += stride
    return sorted(out)


class Diffusion:
    def __init__(self, base_betas, keep, learn_sigma):
        ac = np.cumprod(1.0 - base_betas)
        last, betas = 1.0, []
        for i in keep:
            betas.append(1 - ac[i] / last)
            last = ac[i]
        self.map = torch.tensor(keep)
        self.learn_sigma = learn_sigma
        b = np.array(betas, dtype=np.float64)
        self.n = len(b)
        self.betas = b
        self.ac = np.cumprod(1.0 - b)
        self.ac_prev = np.append(1.0, self.ac[:-1])
        self.post_var = b * (1.0 - self.ac_prev) / (1.0 - self.ac)
        self.post_logvar = np.log(np.append(self.post_var[1], self.post_var[1:]))
        self.coef1 = b * np.sqrt(self.ac_prev) / (1.0 - self.ac)
        self.coef2 = (1.0 - self.ac_prev) * np.sqrt(1.0 - b) / (1.0 - self.ac)

    @staticmethod
    def take(arr, t, x):
        v = torch.from_numpy(arr)[t].float()
        return v.view(-1, *([1] * (x.dim() - 1))) + torch.zeros_like(x)

    def q_sample(self, x0, t, noise):
        return self.take(np.sqrt(self.ac), t, x0) * x0 + self.take(np.sqrt(1.0 - self.ac), t, x0) * noise

    def posterior(self, x0, xt, t):
        mean = self.take(self.coef1, t, xt) * x0 + self.take(self.coef2, t, xt) * xt
        return mean, self.take(self.post_var, t, xt), self.take(self.post_logvar, t, xt)

    def p_mean_var(self, out, x, t, clip=False):
        c = x.shape[1]
        if self.learn_sigma:
            out, v = torch.split(out, c, dim=1)
            lo, hi = self.take(self.post_logvar, t, x), self.take(np.log(self.betas), t, x)
            frac = (v + 1) / 2
            logvar = frac * hi + (1 - frac) * lo
            var = torch.exp(logvar)
        else:
            large = np.append(self.post_var[1], self.betas[1:])
            var, logvar = self.take(large, t, x), self.take(np.log(large), t, x)
        x0 = self.take(np.sqrt(1.0 / self.ac), t, x) * x - self.take(np.sqrt(1.0 / self.ac - 1), t, x) * out
        if clip:
            x0 = x0.clamp(-1, 1)
        mean, _, _ = self.posterior(x0, x, t)
        return mean, var, logvar, x0

    def model(self, fn, x, t):
        return fn(x, self.map[t])

    def losses(self, fn, x0, t, noise):
        xt = self.q_sample(x0, t, noise)
        out = self.model(fn, xt, t)
        c = x0.shape[1]
        vb = None
        if self.learn_sigma:
            eps, v = torch.split(out, c, dim=1)
            frozen = torch.cat([eps.detach(), v], dim=1)
            true_mean, _, true_logvar = self.posterior(x0, xt, t)
            mean, _, logvar, _ = self.p_mean_var(frozen, xt, t)
            kl = 0.5 * (-1.0 + logvar - true_logvar + torch.exp(true_logvar - logvar) + (true_mean - mean) ** 2 * torch.exp(-logvar))
            kl = kl.mean(dim=list(range(1, kl.dim()))) / np.log(2.0)
            nll = -discretized_loglik(x0, mean, 0.5 * logvar)
            nll = nll.mean(dim=list(range(1, nll.dim()))) / np.log(2.0)
            vb = torch.where(t == 0, nll, kl)
            out = eps
        mse = ((noise - out) ** 2).mean(dim=list(range(1, out.dim())))
        return (mse + vb if vb is not None else mse), mse, vb

    def ddim(self, fn, noise, clip=False):
        x = noise
        for i in reversed(range(self.n)):
            t = torch.full((x.shape[0],), i, dtype=torch.long)
            with torch.no_grad():
                _, _, _, x0 = self.p_mean_var(self.model(fn, x, t), x, t, clip)
                eps = (self.take(np.sqrt(1.0 / self.ac), t, x) * x - x0) / self.take(np.sqrt(1.0 / self.ac - 1), t, x)
                abar_prev = self.take(self.ac_prev, t, x)
                x = x0 * torch.sqrt(abar_prev) + torch.sqrt(1 - abar_prev) * eps
        return x


def approx_cdf(x):
    return 0.5 * (1.0 + torch.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * torch.pow(x, 3))))


def discretized_loglik(x, means, log_scales):
    centered = x - means
    inv = torch.exp(-log_scales)
    cdf_plus = approx_cdf(inv * (centered + 1.0 / 255.0))
    cdf_min = approx_cdf(inv * (centered - 1.0 / 255.0))
    log_plus = torch.log(cdf_plus.clamp(min=1e-12))
    log_one_minus = torch.log((1.0 - cdf_min).clamp(min=1e-12))
    log_delta = torch.log((cdf_plus - cdf_min).clamp(min=1e-12))
    return torch.where(x < -0.999, log_plus, torch.where(x > 0.999, log_one_minus, log_delta))


# ----------------------------------------------------------------------------- files

def write_safetensors(path, tensors, metadata):
    # One writer for every vector script: the official-vector script's.
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from make_official_vectors import write_safetensors as write
    write(path, tensors, metadata)


CONFIGS = {
    # name: model config, diffusion schedule, respacings for pmv / ddim (0: no ddim group).
    # The cosine schedule's alpha-bar at t=999 is ~1e-9, so an untrained model's x_0 predictions
    # reach 1e5 and a full DDIM loop differs between float32 and float64 PyTorch by more than the
    # default tolerance: that group would test rounding, not the implementation.
    "p2_linear": (dict(input_size=8, patch_size=2, in_channels=4, hidden_size=32, depth=2, num_heads=2,
                       mlp_ratio=4.0, class_dropout_prob=0.1, num_classes=10, learn_sigma=True), "linear", 50, 10),
    "p4_cosine": (dict(input_size=16, patch_size=4, in_channels=3, hidden_size=24, depth=3, num_heads=3,
                       mlp_ratio=2.0, class_dropout_prob=0.1, num_classes=7, learn_sigma=True), "squaredcos_cap_v2", 25, 0),
    "p2_fixed": (dict(input_size=8, patch_size=2, in_channels=1, hidden_size=16, depth=1, num_heads=2,
                      mlp_ratio=4.0, class_dropout_prob=0.1, num_classes=5, learn_sigma=False), "linear", 100, 6),
}


def randomize(model, gen, scale):
    """Non-trivial weights: the official init leaves adaLN and the output at zero."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name == "pos_embed":
                continue
            p.copy_(torch.randn(p.shape, generator=gen) * scale / max(1.0, p.shape[-1] ** 0.5) * 4)


def make(name, out_dir, seed):
    cfg, schedule, pmv_steps, ddim_steps = CONFIGS[name]
    gen = torch.Generator().manual_seed(seed)
    model = DiT(**cfg)
    ema = DiT(**cfg)
    randomize(model, gen, 0.3)
    randomize(ema, gen, 0.3)
    model.eval()
    ema.eval()
    C, S, K = cfg["in_channels"], cfg["input_size"], cfg["num_classes"]
    base = betas_for(schedule, 1000)
    full = Diffusion(base, list(range(1000)), cfg["learn_sigma"])
    v = OrderedDict()

    with torch.no_grad():
        x = torch.randn(3, C, S, S, generator=gen)
        t = torch.tensor([0, 417, 999])
        y = torch.tensor([1, K, K - 1])
        v["forward.x"], v["forward.t"], v["forward.y"] = x, t, y
        v["forward.out"] = ema(x, t, y)

        h = torch.randn(2, C, S, S, generator=gen)
        v["cfg.x"] = torch.cat([h, h])
        v["cfg.t"] = torch.tensor([250, 250, 250, 250])
        v["cfg.y"] = torch.tensor([2, 0, K, K])
        v["cfg.scale"] = torch.tensor([4.0])
        v["cfg.out"] = ema.forward_with_cfg(v["cfg.x"], v["cfg.t"], v["cfg.y"], 4.0)

    x0 = torch.rand(4, C, S, S, generator=gen) * 2 - 1
    x0[0, 0, 0, :2] = torch.tensor([-1.0, 1.0])  # hit both edge bins of the decoder likelihood
    t = torch.tensor([0, 1, 500, 999])
    noise = torch.randn(4, C, S, S, generator=gen)
    y = torch.tensor([0, 3, K, 1])
    v["loss.x_start"], v["loss.t"], v["loss.noise"], v["loss.y"] = x0, t, noise, y
    loss, mse, vb = full.losses(lambda a, b: ema(a, b, y), x0, t, noise)
    v["loss.loss"], v["loss.mse"] = loss.detach(), mse.detach()
    if vb is not None:
        v["loss.vb"] = vb.detach()
    loss.mean().backward()
    for pname, p in ema.named_parameters():
        if p.requires_grad:
            v["grad." + pname] = p.grad.detach().clone()

    with torch.no_grad():
        d = Diffusion(base, spaced(1000, pmv_steps), cfg["learn_sigma"])
        x = torch.randn(2, C, S, S, generator=gen)
        t = torch.tensor([pmv_steps - 1, 3])
        y = torch.tensor([4, K])
        mean, var, logvar, x0 = d.p_mean_var(d.model(lambda a, b: ema(a, b, y), x, t), x, t)
        v["pmv.x"], v["pmv.t"], v["pmv.y"], v["pmv.respacing"] = x, t, y, torch.tensor([float(pmv_steps)])
        v["pmv.mean"], v["pmv.variance"], v["pmv.log_variance"], v["pmv.pred_xstart"] = mean, var, logvar, x0

        if ddim_steps:
            d = Diffusion(base, spaced(1000, ddim_steps), cfg["learn_sigma"])
            h = torch.randn(2, C, S, S, generator=gen)
            y = torch.tensor([1, 2, K, K])
            v["ddim.noise"], v["ddim.y"] = torch.cat([h, h]), y
            v["ddim.respacing"], v["ddim.scale"] = torch.tensor([float(ddim_steps)]), torch.tensor([2.5])
            v["ddim.sample"] = d.ddim(lambda a, b: ema.forward_with_cfg(a, b, y, 2.5), v["ddim.noise"])

    meta = {"model": json.dumps(cfg), "diffusion_steps": "1000", "noise_schedule": schedule}
    write_safetensors(os.path.join(out_dir, name + ".vectors.safetensors"), v, meta)
    torch.save(ema.state_dict(), os.path.join(out_dir, name + ".state_dict.pt"))
    write_safetensors(os.path.join(out_dir, name + ".safetensors"), ema.state_dict(), {})
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0)
    model.zero_grad()
    model.train()
    l, _, _ = full.losses(lambda a, b: model(a, b, torch.tensor([0, 1, 2, 3])), v["loss.x_start"], v["loss.t"], v["loss.noise"])
    l.mean().backward()
    opt.step()
    model.eval()
    args = argparse.Namespace(model="custom", image_size=cfg["input_size"] * 8, num_classes=K, global_seed=0, results_dir="results")
    torch.save({"model": model.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(), "args": args},
               os.path.join(out_dir, name + ".train.pt"))


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else "src/test/resources/vectors"
    os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(0)
    for i, name in enumerate(CONFIGS):
        make(name, out_dir, 1234 + i)
        print("wrote", name)


if __name__ == "__main__":
    main()
