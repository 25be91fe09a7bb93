#!/usr/bin/python3
"""`dpm` test vectors for dit4j computed by the reference DPM-Solver code (LuChengTHU/dpm-solver).

    /usr/bin/python3 scripts/make_sampler_vectors.py --dit /path/to/DiT --dpm-solver /path/to/dpm-solver \
        [--weights src/test/resources/official] [OUT_DIR]

--dit is a checkout of facebookresearch/DiT (its models.py, with the timm stand-ins of
make_official_vectors.py) and --dpm-solver one of https://github.com/LuChengTHU/dpm-solver, whose
dpm_solver_pytorch.py is imported unmodified; nothing of either is copied into this repository.
The models are the committed official test models (NAME.state_dict.pt in --weights, with the
configuration in NAME.vectors.safetensors), so the new files need no weights of their own.

For each model and each combination of order (2, 3), skip type (time_uniform, logSNR) and guidance
scale (1 = none, and one above 1) it writes OUT_DIR/NAME.dpm<order>m_<skip>_s<scale>.vectors.safetensors
with one `dpm` group (docs/test-vectors.md): DPM_Solver(model_wrapper(...), algorithm_type=
'dpmsolver++').sample(..., method='multistep', lower_order_final=True) over the float32 model, with
model_type 'noise', or 'x_start' for a predict_xstart model, and NoiseScheduleVP(dtype=float64).
A file is kept only when that agrees with the float64 model to a quarter of the default tolerance.
Written for Debian's python3-torch (1.13); nothing here runs at test time.
"""
import argparse
import json
import os
import struct
import sys
from collections import OrderedDict

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from make_official_vectors import install_timm_stand_in, write_safetensors, float64_copy, stable  # noqa: E402

# eps-predicting models: learned and fixed variance, linear and cosine schedules
# With random weights an eps model's x_0 = (x - sigma eps) / alpha is ~100 at t = 1 (alpha ~ 0.006),
# and so are its samples; an x_0 model's samples stay of the size of its outputs. Both kinds are here.
MODELS = ["eps_learned_linear_p2", "eps_learned_cosine_p4", "eps_fixedlarge_linear_p4", "eps_fixedsmall_cosine_p2",
          "x0_learned_cosine_p2", "x0_fixedsmall_linear_p2", "x0_learned_rescaled_linear_p4"]
# 20 steps (the usual setting, where lower_order_final is inactive: the reference applies it only
# below 10 steps) and 7 steps (where it is active), alternated over order and skip type.
STEPS = {(2, "time_uniform"): 20, (2, "logSNR"): 7, (3, "time_uniform"): 7, (3, "logSNR"): 20}
GUIDED_SCALE = 3.0
# The reference's schedule in float32 (its default) is the largest error source: 1 - exp(2 log_alpha)
# cancels near t = 0 and its float32 inverse_lambda moves the logSNR grid, so its float32 runs
# differ from float64 ones by up to 1e-2. The vectors use the reference with dtype=torch.float64
# (the sampler state then float64 too) over the float32 model, as dit4j computes the schedule in
# double; the check below compares that with the float64 model.
SCHEDULE_DTYPE = torch.float64


def read_metadata(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        return json.loads(f.read(n)).get("__metadata__", {})


def betas_of(meta):
    import numpy as np
    from diffusion.gaussian_diffusion import get_named_beta_schedule
    return torch.from_numpy(np.asarray(get_named_beta_schedule(meta.get("noise_schedule", "linear"), int(meta.get("diffusion_steps", "1000")))))


def dpm_group(noise, y, steps, order, scale, sample):
    """The tensors of one `dpm` group, in file order."""
    v = OrderedDict()
    v["dpm.noise"], v["dpm.y"] = noise, y
    v["dpm.steps"], v["dpm.order"] = torch.tensor([steps]), torch.tensor([order])
    v["dpm.scale"] = torch.tensor([scale])
    v["dpm.sample"] = sample.float()
    return v


def run_dpm(dpm, model, C, noise, y, null, scale, steps, order, skip, betas, dtype, model_type):
    ns = dpm.NoiseScheduleVP("discrete", betas=betas, dtype=dtype)
    # The DiT's output holds the noise prediction in its first C channels (the rest is the variance).
    p = next(model.parameters()).dtype

    def eps(x, t, y):
        return model(x.to(p), t, y)[:, :C].to(x.dtype)
    fn = dpm.model_wrapper(eps, ns, model_type=model_type, guidance_type="classifier-free",
                           condition=y, unconditional_condition=torch.full_like(y, null), guidance_scale=scale)
    solver = dpm.DPM_Solver(fn, ns, algorithm_type="dpmsolver++")
    return solver.sample(noise, steps=steps, order=order, skip_type=skip, method="multistep", lower_order_final=True)


def make(name, weights_dir, out_dir, seed, DiT, dpm):
    meta = read_metadata(os.path.join(weights_dir, name + ".vectors.safetensors"))
    cfg = json.loads(meta["model"])
    model = DiT(**cfg)
    model.load_state_dict(torch.load(os.path.join(weights_dir, name + ".state_dict.pt")))
    model.eval()
    m64 = float64_copy(model)
    C, S, K = cfg["in_channels"], cfg["input_size"], cfg["num_classes"]
    betas = betas_of(meta)
    model_type = "x_start" if meta.get("predict_xstart") == "true" else "noise"
    gen = torch.Generator().manual_seed(seed)
    kept = 0
    with torch.no_grad():
        for order in (2, 3):
            for skip in ("time_uniform", "logSNR"):
                for scale in (1.0, GUIDED_SCALE):
                    steps = STEPS[(order, skip)]
                    noise = torch.randn(2, C, S, S, generator=gen)
                    y = torch.tensor([K - 1, 1 % K])
                    got = run_dpm(dpm, model, C, noise, y, K, scale, steps, order, skip, betas, SCHEDULE_DTYPE, model_type)
                    got64 = run_dpm(dpm, m64, C, noise.double(), y, K, scale, steps, order, skip, betas, torch.float64, model_type)
                    tag = "dpm%dm_%s_s%g" % (order, skip, scale)
                    if not stable(tag, got, got64):
                        print("  %s left out: not stable in float32" % tag)
                        continue
                    v = dpm_group(noise, y, steps, order, scale, got)
                    out_meta = {k: meta[k] for k in ("model", "diffusion_steps", "noise_schedule", "predict_xstart") if k in meta}
                    out_meta["dpm_skip_type"] = skip
                    out_meta["weights"] = name
                    out_meta["source"] = "LuChengTHU/dpm-solver dpm_solver_pytorch.py over facebookresearch/DiT models.py (scripts/make_sampler_vectors.py)"
                    write_safetensors(os.path.join(out_dir, "%s.%s.vectors.safetensors" % (name, tag)), v, out_meta)
                    kept += 1
    return kept


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dit", required=True, help="a checkout of facebookresearch/DiT")
    ap.add_argument("--dpm-solver", required=True, help="a checkout of LuChengTHU/dpm-solver")
    ap.add_argument("--weights", default="src/test/resources/official", help="the official test models")
    ap.add_argument("out_dir", nargs="?", default="src/test/resources/official/dpm")
    a = ap.parse_args()
    install_timm_stand_in()
    sys.path.insert(0, os.path.abspath(a.dit))
    sys.path.insert(0, os.path.abspath(a.dpm_solver))
    from models import DiT
    import dpm_solver_pytorch as dpm
    os.makedirs(a.out_dir, exist_ok=True)
    torch.set_num_threads(1)
    for i, name in enumerate(MODELS):
        print(name)
        print("  kept %d files" % make(name, a.weights, a.out_dir, 3030 + i, DiT, dpm))
    print("wrote", a.out_dir)


if __name__ == "__main__":
    main()
