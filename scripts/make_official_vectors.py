#!/usr/bin/python3
"""Test vectors for dit4j computed by the official DiT code (facebookresearch/DiT).

    /usr/bin/python3 scripts/make_official_vectors.py --dit /path/to/DiT OUT_DIR

--dit is a checkout of https://github.com/facebookresearch/DiT; its models.py and diffusion/ are
imported from there unmodified (nothing of it is copied into this repository). Written for Debian's
python3-torch (1.13). models.py imports PatchEmbed, Attention and Mlp from timm, which Debian does
not package: the three layers are written out below, as timm 0.x defines them for the arguments
models.py passes, and installed as the module timm.models.vision_transformer. Nothing else is
replaced: diffusion/ needs only numpy and torch (timestep_sampler.py's torch.distributed included).

For every configuration NAME it writes
  NAME.vectors.safetensors   the groups of docs/test-vectors.md, computed with the EMA weights
  NAME.state_dict.pt         torch.save(ema.state_dict())
  NAME.safetensors           the same weights as safetensors
and for one configuration NAME.train.pt, a train.py checkpoint {model, ema, opt, args}.
It also writes the optimizer, sampler and sharding fixtures of the unit tests:
  adamw.safetensors          torch.optim.AdamW trajectories
  distributed_sampler.safetensors   torch.utils.data.DistributedSampler indices
The Java tests read these files; nothing here runs at test time.
"""
import argparse
import copy
import json
import math
import os
import struct
import sys
import types
from collections import OrderedDict

import torch
import torch.nn as nn


# ----------------------------------------------------------------------------- timm stand-ins

class PatchEmbed(nn.Module):
    """timm's PatchEmbed as models.py uses it: a p x p convolution of stride p, tokens in raster order."""

    def __init__(self, img_size=224, patch_size=16, in_chans=3, embed_dim=768, bias=True):
        super().__init__()
        img_size = (img_size, img_size) if isinstance(img_size, int) else tuple(img_size)
        patch_size = (patch_size, patch_size) if isinstance(patch_size, int) else tuple(patch_size)
        self.img_size = img_size
        self.patch_size = patch_size
        self.grid_size = (img_size[0] // patch_size[0], img_size[1] // patch_size[1])
        self.num_patches = self.grid_size[0] * self.grid_size[1]
        self.flatten = True
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size, bias=bias)
        self.norm = nn.Identity()

    def forward(self, x):
        x = self.proj(x).flatten(2).transpose(1, 2)
        return self.norm(x)


class Attention(nn.Module):
    """timm's Attention: fused qkv projection, softmax(q k^T * head_dim^-0.5) v, output projection."""

    def __init__(self, dim, num_heads=8, qkv_bias=False, attn_drop=0.0, proj_drop=0.0):
        super().__init__()
        assert dim % num_heads == 0
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.scale = self.head_dim ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.attn_drop = nn.Dropout(attn_drop)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)

    def forward(self, x):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        attn = (q @ k.transpose(-2, -1)) * self.scale
        attn = self.attn_drop(attn.softmax(dim=-1))
        x = (attn @ v).transpose(1, 2).reshape(B, N, C)
        return self.proj_drop(self.proj(x))


class Mlp(nn.Module):
    """timm's Mlp: fc1, the activation models.py passes (tanh GELU), fc2."""

    def __init__(self, in_features, hidden_features=None, out_features=None, act_layer=nn.GELU, bias=True, drop=0.0):
        super().__init__()
        out_features = out_features or in_features
        hidden_features = hidden_features or in_features
        self.fc1 = nn.Linear(in_features, hidden_features, bias=bias)
        self.act = act_layer()
        self.drop1 = nn.Dropout(drop)
        self.fc2 = nn.Linear(hidden_features, out_features, bias=bias)
        self.drop2 = nn.Dropout(drop)

    def forward(self, x):
        return self.drop2(self.fc2(self.drop1(self.act(self.fc1(x)))))


def install_timm_stand_in():
    timm = types.ModuleType("timm")
    timm_models = types.ModuleType("timm.models")
    vit = types.ModuleType("timm.models.vision_transformer")
    vit.PatchEmbed, vit.Attention, vit.Mlp = PatchEmbed, Attention, Mlp
    timm.models, timm_models.vision_transformer = timm_models, vit
    sys.modules.update({"timm": timm, "timm.models": timm_models, "timm.models.vision_transformer": vit})


# ----------------------------------------------------------------------------- files

def write_safetensors(path, tensors, metadata, empty_metadata=False):
    """The one safetensors writer of the vector scripts; empty_metadata keeps a {} __metadata__ entry."""
    header, blobs, offset = {}, [], 0
    if metadata or (empty_metadata and metadata is not None):
        header["__metadata__"] = metadata
    for name, t in tensors.items():
        t = t.detach().contiguous()
        dtype = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64"}[t.dtype]
        data = t.numpy().tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


# ----------------------------------------------------------------------------- configurations

def model_cfg(input_size, patch_size, in_channels, hidden_size, num_heads, num_classes, learn_sigma, depth=2, mlp_ratio=2.0):
    return dict(input_size=input_size, patch_size=patch_size, in_channels=in_channels, hidden_size=hidden_size, depth=depth,
                num_heads=num_heads, mlp_ratio=mlp_ratio, class_dropout_prob=0.1, num_classes=num_classes, learn_sigma=learn_sigma)


# name: (model config, create_diffusion keywords, pmv/ddim/ddpm respacings, clip_denoised in the sampling groups)
# Every mean type, variance type and loss type create_diffusion can build, on both schedules.
CONFIGS = OrderedDict([
    ("eps_learned_linear_p2", (model_cfg(8, 2, 4, 16, 2, 10, True), dict(noise_schedule="linear"), (50, 10, 10), False)),
    ("eps_learned_cosine_p4", (model_cfg(8, 4, 3, 16, 4, 7, True), dict(noise_schedule="squaredcos_cap_v2"), (25, 8, 8), True)),
    ("x0_learned_cosine_p2", (model_cfg(8, 2, 2, 16, 2, 6, True), dict(noise_schedule="squaredcos_cap_v2", predict_xstart=True), (40, 10, 10), False)),
    ("eps_fixedlarge_linear_p4", (model_cfg(16, 4, 1, 16, 2, 5, False), dict(noise_schedule="linear"), (100, 6, 6), True)),
    ("eps_fixedsmall_cosine_p2", (model_cfg(8, 2, 3, 16, 4, 4, False), dict(noise_schedule="squaredcos_cap_v2", sigma_small=True), (20, 10, 10), True)),
    ("x0_fixedsmall_linear_p2", (model_cfg(8, 2, 2, 16, 2, 3, False), dict(noise_schedule="linear", predict_xstart=True, sigma_small=True), (30, 8, 8), True)),
    ("kl_learned_linear_p2", (model_cfg(8, 2, 3, 16, 2, 5, True), dict(noise_schedule="linear", use_kl=True), (50, 10, 10), False)),
    ("kl_fixedlarge_cosine_p4", (model_cfg(8, 4, 2, 16, 2, 4, False), dict(noise_schedule="squaredcos_cap_v2", use_kl=True), (10, 5, 5), True)),
    ("rescaled_learned_cosine_p2", (model_cfg(8, 2, 4, 16, 2, 8, True), dict(noise_schedule="squaredcos_cap_v2", rescale_learned_sigmas=True), (60, 10, 10), True)),
    ("x0_learned_rescaled_linear_p4", (model_cfg(8, 4, 3, 16, 2, 9, True), dict(noise_schedule="linear", predict_xstart=True, rescale_learned_sigmas=True), (25, 6, 6), False)),
])
TRAIN_CHECKPOINT = "eps_learned_linear_p2"
# The fixed variance of the cosine schedule at t=999 (beta capped at 0.999) makes the rescaled KL
# there about 1e6 and its gradients 1e4, whose float32 rounding alone exceeds the absolute
# tolerance; this configuration takes its last loss sample before the cap.
LOSS_TIMESTEPS = {"kl_fixedlarge_cosine_p4": [0, 1, 500, 900]}

# The stability rule for the sampling loops: float32 PyTorch must agree with float64 PyTorch to a
# quarter of the default tolerance, or the group would test rounding rather than the implementation.
ATOL, RTOL, MARGIN = 1e-4, 1e-3, 0.25


def randomize(model, gen):
    """Non-trivial weights: the official init leaves adaLN and the output layer at zero."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name == "pos_embed":
                continue  # frozen sin-cos table
            fan_in = p[0].numel() if p.dim() > 1 else p.numel()
            p.copy_(torch.randn(p.shape, generator=gen) * (0.8 / math.sqrt(fan_in) if p.dim() > 1 else 0.1))


class InjectedNoise:
    """Replaces torch.randn_like / torch.randn (which gaussian_diffusion.py calls as th.*) by recorded draws."""

    def __init__(self, draws):
        self.draws, self.used = list(draws), 0

    def _next(self, shape, dtype):
        if self.used >= len(self.draws):
            raise RuntimeError("the loop drew more noise than recorded")
        d = self.draws[self.used]
        self.used += 1
        if tuple(d.shape) != tuple(shape):
            raise RuntimeError("noise draw %d has shape %s, the loop wants %s" % (self.used, tuple(d.shape), tuple(shape)))
        return d.to(dtype)

    def __enter__(self):
        self.saved = torch.randn_like, torch.randn
        torch.randn_like = lambda x, **kw: self._next(x.shape, x.dtype)
        torch.randn = lambda *shape, **kw: self._next(shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape,
                                                      kw.get("dtype") or torch.float32)
        return self

    def __exit__(self, *exc):
        torch.randn_like, torch.randn = self.saved


def float64_copy(model):
    """The model in float64 for the stability check. models.py builds the timestep features in
    float32 (t.float()), so the copy's timestep MLP is fed them converted."""
    m = copy.deepcopy(model).double()
    te = m.t_embedder
    te.forward = lambda t: te.mlp(te.timestep_embedding(t, te.frequency_embedding_size).double())
    return m


def stable(name, got32, got64):
    d = (got32.double() - got64).abs()
    bound = MARGIN * (ATOL + RTOL * got64.abs())
    worst = (d / bound).max().item()
    print("  %-28s float32 vs float64: max abs %.2e, %.2f of the allowed margin" % (name, d.max().item(), worst))
    return worst <= 1.0


def make(name, out_dir, seed, create_diffusion, DiT):
    cfg, dkw, (pmv_steps, ddim_steps, ddpm_steps), clip = CONFIGS[name]
    dkw = dict(dkw, learn_sigma=cfg["learn_sigma"])  # train.py leaves the default (True) and a learn_sigma model
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    ema = DiT(**cfg)
    randomize(ema, gen)
    ema.eval()
    C, S, K = cfg["in_channels"], cfg["input_size"], cfg["num_classes"]
    v = OrderedDict()
    flag = lambda b: torch.tensor([1.0 if b else 0.0])

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

    # loss and grad: training_losses on the full schedule, as train.py builds it
    train_diffusion = create_diffusion(timestep_respacing="", **dkw)
    x0 = torch.rand(4, C, S, S, generator=gen) * 2 - 1
    x0[0, 0, 0, :2] = torch.tensor([-1.0, 1.0])  # both edge bins of the decoder likelihood
    t = torch.tensor(LOSS_TIMESTEPS.get(name, [0, 1, 500, 999]))
    noise = torch.randn(4, C, S, S, generator=gen)
    y = torch.tensor([0, K - 1, K, 1])
    v["loss.x_start"], v["loss.t"], v["loss.noise"], v["loss.y"] = x0, t, noise, y
    ema.zero_grad()
    terms = train_diffusion.training_losses(ema, x0, t, model_kwargs=dict(y=y), noise=noise)
    v["loss.loss"] = terms["loss"].detach().clone()
    for k in ("mse", "vb"):
        if k in terms:
            v["loss." + k] = terms[k].detach().clone()
    terms["loss"].mean().backward()
    for pname, p in ema.named_parameters():
        if p.requires_grad:
            v["grad." + pname] = p.grad.detach().clone() if p.grad is not None else torch.zeros_like(p)
    ema.zero_grad(set_to_none=True)

    with torch.no_grad():
        d = create_diffusion(str(pmv_steps), **dkw)
        x = torch.randn(2, C, S, S, generator=gen) * 1.5
        t = torch.tensor([pmv_steps - 1, 3])
        y = torch.tensor([K - 1, K])
        out = d.p_mean_variance(ema, x, t, clip_denoised=clip, model_kwargs=dict(y=y))
        v["pmv.x"], v["pmv.t"], v["pmv.y"], v["pmv.respacing"] = x, t, y, torch.tensor([float(pmv_steps)])
        v["pmv.clip_denoised"] = flag(clip)
        for k in ("mean", "variance", "log_variance", "pred_xstart"):
            v["pmv." + k] = out[k]

        ema64 = float64_copy(ema)

        # ddim: sample.py's guided model, the official ddim_sample_loop (eta 0)
        d = create_diffusion(str(ddim_steps), **dkw)
        h = torch.randn(1, C, S, S, generator=gen)
        z = torch.cat([h, h])
        y = torch.tensor([1, K])
        scale = 2.5
        inj = [torch.randn(z.shape, generator=gen) for _ in range(ddim_steps)]  # drawn, multiplied by sigma 0
        run = lambda m, zz, dd: d.ddim_sample_loop(m.forward_with_cfg, zz.shape, zz, clip_denoised=clip,
                                                  model_kwargs=dict(y=y, cfg_scale=scale), device="cpu", eta=0.0)
        with InjectedNoise(inj):
            got = run(ema, z, d)
        with InjectedNoise([i.double() for i in inj]):
            got64 = run(ema64, z.double(), d)
        if stable("ddim", got, got64):
            v["ddim.noise"], v["ddim.y"] = z, y
            v["ddim.respacing"], v["ddim.scale"], v["ddim.clip_denoised"] = torch.tensor([float(ddim_steps)]), torch.tensor([scale]), flag(clip)
            v["ddim.sample"] = got
        else:
            print("  ddim left out: not stable in float32")

        # ddpm: the official p_sample_loop as sample.py calls it, every draw injected
        d = create_diffusion(str(ddpm_steps), **dkw)
        h = torch.randn(2, C, S, S, generator=gen)
        z = torch.cat([h, h])
        y = torch.tensor([K - 1, 2 % K, K, K])
        scale = 3.0
        draws = torch.randn((ddpm_steps,) + tuple(z.shape), generator=gen)
        run = lambda m, zz: d.p_sample_loop(m.forward_with_cfg, zz.shape, zz, clip_denoised=clip,
                                            model_kwargs=dict(y=y, cfg_scale=scale), device="cpu", progress=False)
        with InjectedNoise(list(draws)) as n32:
            got = run(ema, z)
        assert n32.used == ddpm_steps, "p_sample_loop drew %d times, expected %d" % (n32.used, ddpm_steps)
        with InjectedNoise(list(draws.double())):
            got64 = run(ema64, z.double())
        if stable("ddpm", got, got64):
            v["ddpm.noise"] = torch.cat([z[None], draws])
            v["ddpm.y"], v["ddpm.respacing"], v["ddpm.scale"] = y, torch.tensor([float(ddpm_steps)]), torch.tensor([scale])
            v["ddpm.clip_denoised"] = flag(clip)
            v["ddpm.sample"] = got
        else:
            print("  ddpm left out: not stable in float32")

    meta = {"model": json.dumps(cfg), "diffusion_steps": "1000", "noise_schedule": dkw["noise_schedule"]}
    for key in ("predict_xstart", "sigma_small", "use_kl", "rescale_learned_sigmas"):
        if key in dkw:
            meta[key] = "true" if dkw[key] else "false"
    meta["source"] = "facebookresearch/DiT models.py and diffusion/ (scripts/make_official_vectors.py)"
    write_safetensors(os.path.join(out_dir, name + ".vectors.safetensors"), v, meta)
    torch.save(ema.state_dict(), os.path.join(out_dir, name + ".state_dict.pt"))
    write_safetensors(os.path.join(out_dir, name + ".safetensors"), ema.state_dict(), {})

    if name == TRAIN_CHECKPOINT:
        # train.py's checkpoint: the raw model one AdamW step away from the EMA weights
        model = copy.deepcopy(ema)
        model.train()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0)
        l = train_diffusion.training_losses(model, v["loss.x_start"], v["loss.t"], model_kwargs=dict(y=torch.tensor([0, 1, 2, 3])),
                                            noise=v["loss.noise"])["loss"]
        opt.zero_grad()
        l.mean().backward()
        opt.step()
        args = argparse.Namespace(results_dir="results", model="DiT-S/2", image_size=S * 8, num_classes=K, epochs=1400,
                                  global_batch_size=256, global_seed=0, vae="ema", num_workers=4, log_every=100, ckpt_every=50000)
        torch.save({"model": model.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(), "args": args},
                   os.path.join(out_dir, name + ".train.pt"))


# ----------------------------------------------------------------------------- unit-test fixtures

def make_adamw(out_dir):
    """torch.optim.AdamW on two tensors with fixed gradients per step, with and without weight decay."""
    gen = torch.Generator().manual_seed(99)
    v = OrderedDict()
    steps = 5
    init = [torch.randn(3, 4, generator=gen), torch.randn(5, generator=gen)]
    grads = [[torch.randn(p.shape, generator=gen) for p in init] for _ in range(steps)]
    for i, p in enumerate(init):
        v["init.%d" % i] = p
        v["grads.%d" % i] = torch.stack([g[i] for g in grads])
    cases = {"wd0": dict(lr=1e-2, weight_decay=0.0), "wd01": dict(lr=3e-2, weight_decay=0.1, betas=(0.8, 0.95), eps=1e-6)}
    meta = {}
    for case, kw in cases.items():
        params = [nn.Parameter(p.clone()) for p in init]
        opt = torch.optim.AdamW(params, **kw)
        traj = [[] for _ in params]
        for s in range(steps):
            for p, g in zip(params, grads[s]):
                p.grad = g.clone()
            opt.step()
            for i, p in enumerate(params):
                traj[i].append(p.detach().clone())
        for i in range(len(params)):
            v["%s.params.%d" % (case, i)] = torch.stack(traj[i])
            v["%s.exp_avg_sq.%d" % (case, i)] = opt.state[params[i]]["exp_avg_sq"].clone()
        full = dict(lr=kw["lr"], weight_decay=kw["weight_decay"], betas=list(kw.get("betas", (0.9, 0.999))), eps=kw.get("eps", 1e-8))
        meta[case] = json.dumps(full)
    meta["steps"] = str(steps)
    write_safetensors(os.path.join(out_dir, "adamw.safetensors"), v, meta)


def make_distributed_sampler(out_dir):
    """DistributedSampler(shuffle=True, seed, drop_last=False) indices per (size, seed, world, rank, epoch)."""
    from torch.utils.data import DistributedSampler
    v = OrderedDict()
    for size, seed, world in [(10, 0, 1), (10, 0, 3), (7, 42, 4), (3, 5, 8), (64, 1234, 2)]:
        for rank in range(world):
            for epoch in (0, 1, 7):
                s = DistributedSampler(range(size), num_replicas=world, rank=rank, shuffle=True, seed=seed)
                s.set_epoch(epoch)
                v["n%d_seed%d_world%d_rank%d_epoch%d" % (size, seed, world, rank, epoch)] = torch.tensor(list(iter(s)), dtype=torch.int64)
    write_safetensors(os.path.join(out_dir, "distributed_sampler.safetensors"), v, {})


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dit", required=True, help="a checkout of facebookresearch/DiT")
    ap.add_argument("out_dir", nargs="?", default="src/test/resources/official")
    a = ap.parse_args()
    install_timm_stand_in()
    sys.path.insert(0, os.path.abspath(a.dit))
    from models import DiT
    from diffusion import create_diffusion
    import diffusion.gaussian_diffusion as gd
    assert gd.th is torch, "gaussian_diffusion.py draws its noise through torch"
    os.makedirs(a.out_dir, exist_ok=True)
    torch.set_num_threads(1)
    for i, name in enumerate(CONFIGS):
        print(name)
        make(name, a.out_dir, 2024 + i, create_diffusion, DiT)
    make_adamw(a.out_dir)
    make_distributed_sampler(a.out_dir)
    print("wrote", a.out_dir)


if __name__ == "__main__":
    main()
