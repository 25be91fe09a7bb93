#!/usr/bin/python3
"""VAE test vectors and fixtures for dit4j, from an independent PyTorch AutoencoderKL.

`/usr/bin/python3 scripts/make_vae_vectors.py OUT_DIR` (Debian's python3-torch 1.13). The network is
diffusers' AutoencoderKL architecture written out in plain PyTorch with diffusers' parameter names.
For each configuration NAME it writes a hub-style folder NAME/ (config.json and
diffusion_pytorch_model.safetensors, or .bin with the older query/key/value/proj_attn names) and
NAME.vectors.safetensors with the VAE groups of docs/test-vectors.md.
"""
import json
import os
import sys
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_test_vectors import write_safetensors  # noqa: E402


class Resnet(nn.Module):
    def __init__(self, cin, cout, groups):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, cin, eps=1e-6)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.norm2 = nn.GroupNorm(groups, cout, eps=1e-6)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.conv_shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x):
        h = self.conv2(F.silu(self.norm2(self.conv1(F.silu(self.norm1(x))))))
        return (self.conv_shortcut(x) if self.conv_shortcut is not None else x) + h


class Attn(nn.Module):
    def __init__(self, c, groups):
        super().__init__()
        self.group_norm = nn.GroupNorm(groups, c, eps=1e-6)
        self.to_q, self.to_k, self.to_v = nn.Linear(c, c), nn.Linear(c, c), nn.Linear(c, c)
        self.to_out = nn.ModuleList([nn.Linear(c, c)])

    def forward(self, x):
        b, c, h, w = x.shape
        t = self.group_norm(x).view(b, c, h * w).transpose(1, 2)
        q, k, v = self.to_q(t), self.to_k(t), self.to_v(t)
        a = torch.softmax(q @ k.transpose(1, 2) / c ** 0.5, dim=-1) @ v
        return self.to_out[0](a).transpose(1, 2).reshape(b, c, h, w) + x


class Mid(nn.Module):
    def __init__(self, c, groups):
        super().__init__()
        self.resnets = nn.ModuleList([Resnet(c, c, groups), Resnet(c, c, groups)])
        self.attentions = nn.ModuleList([Attn(c, groups)])

    def forward(self, x):
        return self.resnets[1](self.attentions[0](self.resnets[0](x)))


class Down(nn.Module):
    def __init__(self, cin, cout, layers, groups, down):
        super().__init__()
        self.resnets = nn.ModuleList([Resnet(cin if i == 0 else cout, cout, groups) for i in range(layers)])
        if down:
            self.downsamplers = nn.ModuleList([nn.Module()])
            self.downsamplers[0].conv = nn.Conv2d(cout, cout, 3, stride=2)

    def forward(self, x):
        for r in self.resnets:
            x = r(x)
        if hasattr(self, "downsamplers"):
            x = self.downsamplers[0].conv(F.pad(x, (0, 1, 0, 1)))
        return x


class Up(nn.Module):
    def __init__(self, cin, cout, layers, groups, up):
        super().__init__()
        self.resnets = nn.ModuleList([Resnet(cin if i == 0 else cout, cout, groups) for i in range(layers)])
        if up:
            self.upsamplers = nn.ModuleList([nn.Module()])
            self.upsamplers[0].conv = nn.Conv2d(cout, cout, 3, padding=1)

    def forward(self, x):
        for r in self.resnets:
            x = r(x)
        if hasattr(self, "upsamplers"):
            x = self.upsamplers[0].conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))
        return x


class VAE(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        ch, L, g, lat = cfg["block_out_channels"], cfg["layers_per_block"], cfg["norm_num_groups"], cfg["latent_channels"]
        enc, dec = nn.Module(), nn.Module()
        enc.conv_in = nn.Conv2d(cfg["in_channels"], ch[0], 3, padding=1)
        enc.down_blocks = nn.ModuleList([Down(ch[max(i - 1, 0)], ch[i], L, g, i < len(ch) - 1) for i in range(len(ch))])
        enc.mid_block = Mid(ch[-1], g)
        enc.conv_norm_out = nn.GroupNorm(g, ch[-1], eps=1e-6)
        enc.conv_out = nn.Conv2d(ch[-1], 2 * lat, 3, padding=1)
        rev = list(reversed(ch))
        dec.conv_in = nn.Conv2d(lat, ch[-1], 3, padding=1)
        dec.mid_block = Mid(ch[-1], g)
        dec.up_blocks = nn.ModuleList([Up(rev[max(i - 1, 0)], rev[i], L + 1, g, i < len(ch) - 1) for i in range(len(ch))])
        dec.conv_norm_out = nn.GroupNorm(g, ch[0], eps=1e-6)
        dec.conv_out = nn.Conv2d(ch[0], cfg["out_channels"], 3, padding=1)
        self.encoder, self.decoder = enc, dec
        self.quant_conv = nn.Conv2d(2 * lat, 2 * lat, 1)
        self.post_quant_conv = nn.Conv2d(lat, lat, 1)
        self.lat = lat

    def encode(self, x):
        e = self.encoder
        h = e.conv_in(x)
        for d in e.down_blocks:
            h = d(h)
        h = e.conv_out(F.silu(e.conv_norm_out(e.mid_block(h))))
        mean, logvar = torch.chunk(self.quant_conv(h), 2, dim=1)
        return mean, torch.clamp(logvar, -30.0, 20.0)

    def decode(self, z):
        d = self.decoder
        h = d.mid_block(d.conv_in(self.post_quant_conv(z)))
        for u in d.up_blocks:
            h = u(h)
        return d.conv_out(F.silu(d.conv_norm_out(h)))


def config(channels, layers, groups, latent=4):
    return {"_class_name": "AutoencoderKL", "in_channels": 3, "out_channels": 3,
            "down_block_types": ["DownEncoderBlock2D"] * len(channels), "up_block_types": ["UpDecoderBlock2D"] * len(channels),
            "block_out_channels": channels, "layers_per_block": layers, "act_fn": "silu", "latent_channels": latent,
            "norm_num_groups": groups, "sample_size": 32, "scaling_factor": 0.18215}


CONFIGS = {
    # name: config, input (H, W), old attention key names?
    "vae_two_level": (config([16, 32], 1, 8), (12, 20), False),
    "vae_three_level_old_keys": (config([16, 32, 32], 2, 8, latent=3), (20, 28), True),   # latent 5x7
}


def make(name, out, seed):
    cfg, (H, W), old = CONFIGS[name]
    g = torch.Generator().manual_seed(seed)
    vae = VAE(cfg).eval()
    with torch.no_grad():
        for n, p in vae.named_parameters():
            if "norm" in n and n.endswith("weight"):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g))
            elif p.dim() > 1:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=g) / fan_in ** 0.5)
            else:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
        for a in (vae.encoder.mid_block.attentions[0], vae.decoder.mid_block.attentions[0]):
            a.to_q.weight.mul_(4.0)   # sharp, far-from-uniform attention
            a.to_k.weight.mul_(4.0)
    v = OrderedDict()
    with torch.no_grad():
        x = torch.rand(2, 3, H, W, generator=g) * 2 - 1
        mean, logvar = vae.encode(x)
        v["vae_encode.x"], v["vae_encode.mean"], v["vae_encode.logvar"] = x, mean, logvar
        noise = torch.randn(mean.shape, generator=g)
        v["vae_sample.x"], v["vae_sample.noise"] = x, noise
        v["vae_sample.z"] = mean + torch.exp(0.5 * logvar) * noise
        z = torch.randn(2, cfg["latent_channels"], H // 2 ** (len(cfg["block_out_channels"]) - 1), W // 2 ** (len(cfg["block_out_channels"]) - 1), generator=g)
        v["vae_decode.z"], v["vae_decode.out"] = z, vae.decode(z)
        v["vae_recon.x"], v["vae_recon.out"] = x, vae.decode(mean)
    write_safetensors(os.path.join(out, name + ".vectors.safetensors"), v, {"vae": json.dumps(cfg)})
    folder = os.path.join(out, name)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    sd = vae.state_dict()
    if old:
        renamed = OrderedDict()
        for k, t in sd.items():
            k = k.replace(".to_q.", ".query.").replace(".to_k.", ".key.").replace(".to_v.", ".value.").replace(".to_out.0.", ".proj_attn.")
            renamed[k] = t
        torch.save(renamed, os.path.join(folder, "diffusion_pytorch_model.bin"))
    else:
        write_safetensors(os.path.join(folder, "diffusion_pytorch_model.safetensors"), sd, {"format": "pt"})


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "src/test/resources/vae"
    os.makedirs(out, exist_ok=True)
    for i, name in enumerate(CONFIGS):
        make(name, out, 100 + i)
        print("wrote", name)


if __name__ == "__main__":
    main()
