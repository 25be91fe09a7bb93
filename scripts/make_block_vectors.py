#!/usr/bin/python3
"""Test vectors for the conditioning designs and descendants' options of dit4j.model.Arch.

    /usr/bin/python3 scripts/make_block_vectors.py --dit DiT --timm TIMM --hunyuan HUNYUAN --dinov2 DINOV2 OUT_DIR

Each flag is a checkout outside this repository, imported unmodified (nothing of it is copied here):
  --dit      https://github.com/facebookresearch/DiT          models.py: embedders, DiTBlock, FinalLayer, modulate
  --timm     https://github.com/huggingface/pytorch-image-models   timm.layers: Attention (qk_norm), Mlp, RmsNorm
  --hunyuan  https://github.com/Tencent/HunyuanDiT            hydit/modules: get_2d_rotary_pos_embed, apply_rotary_emb
  --dinov2   https://github.com/facebookresearch/dinov2       dinov2/layers/swiglu_ffn.py: SwiGLUFFN
Written for Debian's python3-torch (1.13); timm's layers import under it and take the non-fused
attention path there.

The paper's adaLN, cross-attention and in-context blocks (Peebles & Xie 2022, Section 3.2) have no
public code: they are written below from the paper, out of the public layers above. So is the glue
that applies Hunyuan-DiT's rotary embedding inside timm's Attention (where timm's own
AttentionRope puts it: after q_norm/k_norm).

For every variant NAME it writes NAME.vectors.safetensors with the model configuration as metadata
`model` (dit4j's JSON, with the keys block, qk_norm, pos, mlp, norm) and the group `forward`
(x, t, y -> out); the first variant also has `mse_grad` (target, loss = mean((out - target)^2), and the
gradient of every trainable parameter). No weights are stored: both sides fill every trainable
parameter, in sorted name order, from one torch.Generator seeded 0 (`fill` below, mirrored by
BlockVectorsTest), which libtorch draws bit-identically.
"""
import argparse
import functools
import importlib.util
import json
import math
import os
import sys
from collections import OrderedDict

import torch
import torch.nn as nn


def load_references(a):
    sys.path.insert(0, a.timm)
    sys.path.insert(0, a.hunyuan)
    sys.path.insert(0, a.dit)
    global models, Attention, Mlp, RmsNorm, get_2d_rotary_pos_embed, apply_rotary_emb, SwiGLUFFN
    import models  # the official DiT models.py
    from timm.layers.attention import Attention
    from timm.layers.mlp import Mlp
    from timm.layers.norm import RmsNorm
    from hydit.modules.posemb_layers import get_2d_rotary_pos_embed
    from hydit.modules.attn_layers import apply_rotary_emb
    spec = importlib.util.spec_from_file_location("swiglu_ffn", os.path.join(a.dinov2, "dinov2/layers/swiglu_ffn.py"))
    swiglu = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(swiglu)
    SwiGLUFFN = swiglu.SwiGLUFFN


# ----------------------------------------------------------------------------- layers

def norm_layer(kind, dim, affine):
    if kind == "rmsnorm":
        return RmsNorm(dim, eps=1e-6, affine=affine)
    return nn.LayerNorm(dim, eps=1e-6, elementwise_affine=affine)


class RopeAttention(nn.Module):
    """timm's Attention (qkv, q_norm, k_norm, proj) with Hunyuan-DiT's rotary embedding applied to q and k after the norms."""

    def __init__(self, dim, heads, qk_norm, rope):
        super().__init__()
        ln = functools.partial(RmsNorm, eps=1e-6) if qk_norm == "rmsnorm" else functools.partial(nn.LayerNorm, eps=1e-6)
        self.inner = Attention(dim, heads, qkv_bias=True, qk_norm=qk_norm != "none", norm_layer=ln)
        self.rope = rope  # (cos, sin) or None

    def forward(self, x):
        a = self.inner
        if self.rope is None:
            return a(x)
        B, N, C = x.shape
        qkv = a.qkv(x).reshape(B, N, 3, a.num_heads, a.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        q, k = a.q_norm(q), a.k_norm(k)
        q, k = apply_rotary_emb(q, k, self.rope, head_first=True)
        attn = (q * a.scale) @ k.transpose(-2, -1)
        x = (attn.softmax(dim=-1) @ v).transpose(1, 2).reshape(B, N, C)
        return a.proj(x)


def attention(dim, heads, arch, rope):
    if rope is None:
        ln = functools.partial(RmsNorm, eps=1e-6) if arch["qk_norm"] == "rmsnorm" else functools.partial(nn.LayerNorm, eps=1e-6)
        return Attention(dim, heads, qkv_bias=True, qk_norm=arch["qk_norm"] != "none", norm_layer=ln)
    return RopeAttention(dim, heads, arch["qk_norm"], rope)


def feed_forward(dim, mlp_hidden, arch):
    if arch["mlp"] == "swiglu":
        return SwiGLUFFN(dim, int(2 / 3 * mlp_hidden))  # LightningDiT's width
    return Mlp(in_features=dim, hidden_features=mlp_hidden, act_layer=lambda: nn.GELU(approximate="tanh"), drop=0)


class CrossAttention(nn.Module):
    """Multi-head cross-attention, PixArt-alpha's MultiHeadCrossAttention names (q_linear, kv_linear, proj)."""

    def __init__(self, dim, heads):
        super().__init__()
        self.heads, self.head_dim = heads, dim // heads
        self.q_linear = nn.Linear(dim, dim)
        self.kv_linear = nn.Linear(dim, 2 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, cond):
        B, N, C = x.shape
        q = self.q_linear(x).reshape(B, N, self.heads, self.head_dim).transpose(1, 2)
        kv = self.kv_linear(cond).reshape(B, cond.shape[1], 2, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        k, v = kv.unbind(0)
        attn = ((q * self.head_dim ** -0.5) @ k.transpose(-2, -1)).softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(B, N, C))


class AdaLNBlock(nn.Module):
    """The paper's adaLN block: scale and shift regressed from c, no gates.

    The regression is adaLN-Zero's (six vectors, the official chunk order) with the gates unused:
    the paper gives adaLN adaLN-Zero's Gflops (Figure 5), which only a six-vector regression has.
    """

    def __init__(self, dim, heads, mlp_hidden, arch, rope):
        super().__init__()
        self.norm1 = norm_layer(arch["norm"], dim, False)
        self.attn = attention(dim, heads, arch, rope)
        self.norm2 = norm_layer(arch["norm"], dim, False)
        self.mlp = feed_forward(dim, mlp_hidden, arch)
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(dim, 6 * dim))

    def forward(self, x, c, cond):
        shift_msa, scale_msa, _, shift_mlp, scale_mlp, _ = self.adaLN_modulation(c).chunk(6, dim=1)
        x = x + self.attn(models.modulate(self.norm1(x), shift_msa, scale_msa))
        return x + self.mlp(models.modulate(self.norm2(x), shift_mlp, scale_mlp))


class ViTBlock(nn.Module):
    """The paper's in-context design: a standard pre-norm ViT block; t and y are tokens of x."""

    def __init__(self, dim, heads, mlp_hidden, arch, rope):
        super().__init__()
        self.norm1 = norm_layer(arch["norm"], dim, True)
        self.attn = attention(dim, heads, arch, rope)
        self.norm2 = norm_layer(arch["norm"], dim, True)
        self.mlp = feed_forward(dim, mlp_hidden, arch)

    def forward(self, x, c, cond):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class CrossAttentionBlock(nn.Module):
    """The paper's cross-attention design: a ViT block with cross-attention to [t, y] after self-attention."""

    def __init__(self, dim, heads, mlp_hidden, arch, rope):
        super().__init__()
        self.norm1 = norm_layer(arch["norm"], dim, True)
        self.attn = attention(dim, heads, arch, rope)
        self.norm2 = norm_layer(arch["norm"], dim, True)
        self.cross_attn = CrossAttention(dim, heads)
        self.norm3 = norm_layer(arch["norm"], dim, True)
        self.mlp = feed_forward(dim, mlp_hidden, arch)

    def forward(self, x, c, cond):
        x = x + self.attn(self.norm1(x))
        x = x + self.cross_attn(self.norm2(x), cond)
        return x + self.mlp(self.norm3(x))


class OfficialBlock(nn.Module):
    """The official adaLN-Zero DiTBlock, its norms, attention and MLP swapped for the options chosen."""

    def __init__(self, dim, heads, mlp_hidden, arch, rope):
        super().__init__()
        self.block = models.DiTBlock(dim, heads, mlp_ratio=mlp_hidden / dim)
        self.block.norm1 = norm_layer(arch["norm"], dim, False)
        self.block.norm2 = norm_layer(arch["norm"], dim, False)
        self.block.attn = attention(dim, heads, arch, rope)
        self.block.mlp = feed_forward(dim, mlp_hidden, arch)

    def forward(self, x, c, cond):
        return self.block(x, c)


BLOCKS = {"adaln-zero": OfficialBlock, "adaln": AdaLNBlock, "in-context": ViTBlock, "cross-attention": CrossAttentionBlock}


class VariantDiT(nn.Module):
    """The official DiT's embedders and final layer around blocks of one design."""

    def __init__(self, cfg, arch):
        super().__init__()
        official = models.DiT(**cfg)
        self.cfg, self.arch = cfg, arch
        self.x_embedder, self.t_embedder, self.y_embedder = official.x_embedder, official.t_embedder, official.y_embedder
        if arch["pos"] == "sincos":
            self.pos_embed = official.pos_embed
        d, heads = cfg["hidden_size"], cfg["num_heads"]
        grid = cfg["input_size"] // cfg["patch_size"]
        rope = None
        if arch["pos"] == "rope":
            cos, sin = get_2d_rotary_pos_embed(d // heads, grid, use_real=True)
            extra = 2 if arch["block"] == "in-context" else 0  # the t and y tokens are not rotated
            rope = (torch.cat([cos, torch.ones(extra, cos.shape[1])]), torch.cat([sin, torch.zeros(extra, sin.shape[1])]))
        mlp_hidden = int(d * cfg["mlp_ratio"])
        self.blocks = nn.ModuleList([BLOCKS[arch["block"]](d, heads, mlp_hidden, arch, rope) for _ in range(cfg["depth"])])
        self.final_layer = official.final_layer
        self.final_layer.norm_final = norm_layer(arch["norm"], d, False)
        self.out_channels, self.unpatchify = official.out_channels, official.unpatchify

    def forward(self, x, t, y):
        x = self.x_embedder(x)
        if self.arch["pos"] == "sincos":
            x = x + self.pos_embed
        tokens = x.shape[1]
        t, y = self.t_embedder(t), self.y_embedder(y, self.training)
        c, cond = t + y, torch.stack([t, y], dim=1)
        if self.arch["block"] == "in-context":
            x = torch.cat([x, cond], dim=1)
        for block in self.blocks:
            x = block(x, c, cond)
        x = x[:, :tokens]
        return self.unpatchify(self.final_layer(x, c))


def state_names(model):
    """Parameter names as dit4j (and a plain timm/official module tree) has them."""
    return OrderedDict((k.replace(".inner.", ".").replace("blocks.%s.block." % k.split(".")[1], "blocks.%s." % k.split(".")[1])
                        if k.startswith("blocks.") else k, p) for k, p in model.named_parameters())


def fill(params, gen):
    """Every trainable parameter in sorted name order: norm weights 1 + 0.1 N(0,1), other vectors 0.1 N(0,1), matrices N(0,1) * 0.8 / sqrt(fan_in)."""
    with torch.no_grad():
        for name in sorted(params):
            p = params[name]
            if not p.requires_grad:
                continue
            r = torch.randn(p.shape, generator=gen)
            if p.dim() > 1:
                p.copy_(r * (0.8 / math.sqrt(p[0].numel())))
            elif "norm" in name.split(".")[-2] and name.endswith(".weight"):
                p.copy_(1 + 0.1 * r)
            else:
                p.copy_(0.1 * r)


def write_safetensors(path, tensors, metadata):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from make_official_vectors import write_safetensors as write
    write(path, tensors, metadata)


ARCH = dict(block="adaln-zero", qk_norm="none", pos="sincos", mlp="gelu", norm="layernorm")
VARIANTS = OrderedDict([
    ("cross_attention", dict(block="cross-attention")),
    ("adaln", dict(block="adaln")),
    ("in_context", dict(block="in-context")),
    ("qknorm_layernorm", dict(qk_norm="layernorm")),
    ("qknorm_rmsnorm", dict(qk_norm="rmsnorm")),
    ("rope", dict(pos="rope")),
    ("swiglu", dict(mlp="swiglu")),
    ("rmsnorm", dict(norm="rmsnorm")),
    ("in_context_all_options", dict(block="in-context", qk_norm="rmsnorm", pos="rope", mlp="swiglu", norm="rmsnorm")),
    ("cross_attention_rmsnorm", dict(block="cross-attention", norm="rmsnorm", qk_norm="layernorm")),
])
CFG = dict(input_size=8, patch_size=2, in_channels=4, hidden_size=32, depth=2, num_heads=2, mlp_ratio=2.0,
           class_dropout_prob=0.1, num_classes=10, learn_sigma=True)


def main():
    ap = argparse.ArgumentParser()
    for flag in ("--dit", "--timm", "--hunyuan", "--dinov2"):
        ap.add_argument(flag, required=True)
    ap.add_argument("out")
    a = ap.parse_args()
    load_references(a)
    os.makedirs(a.out, exist_ok=True)
    torch.set_grad_enabled(True)
    for i, (name, options) in enumerate(VARIANTS.items()):
        arch = dict(ARCH, **options)
        model = VariantDiT(CFG, arch).eval()
        params = state_names(model)
        fill(params, torch.Generator().manual_seed(0))
        g = torch.Generator().manual_seed(1)
        n = 3
        x = torch.randn(n, CFG["in_channels"], CFG["input_size"], CFG["input_size"], generator=g)
        t = torch.tensor([0, 417, 999])
        y = torch.tensor([3, CFG["num_classes"], 7])  # the null class too
        out = model(x, t, y)
        tensors = OrderedDict([("forward.x", x), ("forward.t", t), ("forward.y", y), ("forward.out", out)])
        if i == 0:
            target = torch.randn(out.shape, generator=g)
            loss = ((out - target) ** 2).mean()
            loss.backward()
            tensors["mse_grad.target"], tensors["mse_grad.loss"] = target, loss.reshape(1)
            for k, p in params.items():
                if p.requires_grad:
                    tensors["mse_grad." + k] = p.grad
        meta = {"model": json.dumps(dict(CFG, **arch)), "source": "scripts/make_block_vectors.py (official DiT, timm, Hunyuan-DiT, DINOv2), torch " + torch.__version__}
        write_safetensors(os.path.join(a.out, name + ".vectors.safetensors"), tensors, meta)
        print(name, sum(p.numel() for p in params.values()), "parameters, |out| max %.3f" % out.abs().max().item())


if __name__ == "__main__":
    main()
