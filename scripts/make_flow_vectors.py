#!/usr/bin/python3
"""`flow_loss`, `flow_ode` and `flow_sde` test vectors for dit4j computed by SiT's own code (willisma/SiT).

    /usr/bin/python3 scripts/make_flow_vectors.py --sit /path/to/SiT --torchdiffeq /path/to/torchdiffeq \
        [--weights src/test/resources/official] [OUT_DIR]

--sit is a checkout of https://github.com/willisma/SiT (its models.py and transport/ are imported
unmodified) and --torchdiffeq one of https://github.com/rtqichen/torchdiffeq, which transport/
integrates with; nothing of either is copied into this repository. models.py needs timm's
PatchEmbed, Attention and Mlp: the stand-ins of make_official_vectors.py. transport/integrators.py
imports tqdm (unused), which Debian's python lacks: an empty stand-in module is installed; so is,
when scipy is absent, one for torchdiffeq's unused import of scipy.integrate.solve_ivp
(install_sit_stand_ins, which make_flow_dpm_vectors.py and make_flow_ode_vectors.py use too).

The models are the committed official test models (NAME.state_dict.pt in --weights; SiT's
parameter names are DiT's). For every transport that create_transport builds (path Linear, GVP,
VP; prediction velocity, score, noise; loss weight none, velocity, likelihood for score and noise),
OUT_DIR/flow_<path>_<prediction>_<weight>.vectors.safetensors holds
  flow_loss  Transport.training_losses with given t and x0
  flow_ode   Sampler.sample_ode(...)(noise, model_fn)[-1], a fixed-grid torchdiffeq method or dopri5
  flow_sde   Sampler.sample_sde(...)(noise, model_fn)[-1] with the Gaussian draws injected
the ODE and SDE options cycling over the files (metadata flow_ode_method, flow_sde_*). model_fn is
SiT's sample.py choice: forward_with_cfg over [z, z] and [y, null] when the scale is above 1,
forward otherwise. A sampling group is kept only where float32 PyTorch agrees with float64 PyTorch
to a quarter of the default tolerance. Written for Debian's python3-torch (1.13).
"""
import argparse
import json
import os
import sys
import types
from collections import OrderedDict

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from make_official_vectors import install_timm_stand_in, write_safetensors, float64_copy, stable, InjectedNoise  # noqa: E402
from make_sampler_vectors import read_metadata  # noqa: E402

MODELS = ["eps_learned_linear_p2", "eps_fixedlarge_linear_p4", "x0_learned_cosine_p2"]
ODE_METHODS = ["euler", "heun2", "dopri5", "midpoint", "rk4", "heun3"]
# (sampling_method, diffusion_form, diffusion_norm, last_step, last_step_size)
SDE_OPTIONS = [("Euler", "SBDM", 1.0, "Mean", 0.04), ("Heun", "sigma", 1.0, "Tweedie", 0.04), ("Euler", "linear", 0.5, "Euler", 0.05),
               ("Heun", "SBDM", 1.0, None, 0.04), ("Euler", "decreasing", 1.0, "Mean", 0.04), ("Euler", "inccreasing-decreasing", 1.0, "Tweedie", 0.04)]
ODE_STEPS, SDE_STEPS = 8, 10


def transports():
    for path in ("Linear", "GVP", "VP"):
        for prediction in ("velocity", "score", "noise"):
            for weight in (["none"] if prediction == "velocity" else ["none", "velocity", "likelihood"]):
                yield path, prediction, weight


def install_sit_stand_ins():
    """timm's layers for models.py, an empty tqdm for transport/integrators.py and, without scipy,
    an empty scipy.integrate.solve_ivp for torchdiffeq's scipy_wrapper: no solver of it runs here,
    and python3-scipy would switch Debian's torch to OpenBLAS."""
    install_timm_stand_in()
    sys.modules["tqdm"] = types.SimpleNamespace(tqdm=lambda it, *args, **kw: it)
    try:
        import scipy.integrate  # noqa: F401
    except ImportError:
        sys.modules["scipy"] = sys.modules["scipy.integrate"] = types.SimpleNamespace(solve_ivp=None)


def sit_arguments(doc, out_dir):
    """The command line of the SiT vector scripts: --sit, --torchdiffeq, --weights, OUT_DIR."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sit", required=True, help="a checkout of willisma/SiT")
    ap.add_argument("--torchdiffeq", required=True, help="a checkout of rtqichen/torchdiffeq")
    ap.add_argument("--weights", default="src/test/resources/official", help="the official test models")
    ap.add_argument("out_dir", nargs="?", default=out_dir)
    return ap


def import_sit(a):
    """SiT's models.SiT and transport's create_transport and Sampler from the checkouts in a."""
    install_sit_stand_ins()
    sys.path.insert(0, os.path.abspath(a.torchdiffeq))
    sys.path.insert(0, os.path.abspath(a.sit))
    from models import SiT
    from transport import create_transport, Sampler
    return SiT, create_transport, Sampler


def load_models(weights, SiT):
    """MODELS as name -> (configuration, SiT model, its float64 copy), eval mode."""
    models = {}
    for name in MODELS:
        meta = read_metadata(os.path.join(weights, name + ".vectors.safetensors"))
        cfg = json.loads(meta["model"])
        m = SiT(**cfg)
        m.load_state_dict(torch.load(os.path.join(weights, name + ".state_dict.pt")))
        m.eval()
        models[name] = (cfg, m, float64_copy(m))
    return models


def sampling_inputs(gen, guided, C, S, K):
    """Start noise and labels: guided, one draw twice with [class, null]; unguided, two draws."""
    h = torch.randn(1 if guided else 2, C, S, S, generator=gen)
    z = torch.cat([h, h]) if guided else h
    ys = torch.tensor([2 % K, K]) if guided else torch.tensor([K - 1, 0])
    return z, ys


def model_fn(m, scale):
    """SiT's sample.py choice: forward_with_cfg when the scale is above 1, forward otherwise."""
    if scale > 1:
        return lambda x, tt, y: m.forward_with_cfg(x, tt, y, scale)
    return lambda x, tt, y: m.forward(x, tt, y)


def ode_group(tag, sampler, method, steps, z, ys, scale, model, m64, atol=1e-6, rtol=1e-3):
    """The flow_ode tensors of Sampler.sample_ode(...)(z, model_fn)[-1] (SiT's default atol and rtol),
    or none when float32 misses float64 by more than the stability margin."""
    ode = sampler.sample_ode(sampling_method=method, num_steps=steps, atol=atol, rtol=rtol)
    with torch.no_grad():
        got = ode(z, model_fn(model, scale), y=ys)[-1]
        got64 = ode(z.double(), model_fn(m64, scale), y=ys)[-1]
    v = OrderedDict()
    if stable(tag + " ode", got, got64):
        v["flow_ode.noise"], v["flow_ode.y"] = z, ys
        v["flow_ode.scale"], v["flow_ode.steps"] = torch.tensor([scale]), torch.tensor([steps])
        v["flow_ode.sample"] = got
    return v


def main():
    a = sit_arguments(__doc__, "src/test/resources/official/flow").parse_args()
    SiT, create_transport, Sampler = import_sit(a)
    os.makedirs(a.out_dir, exist_ok=True)
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(4040)
    models = load_models(a.weights, SiT)
    for i, (path, prediction, weight) in enumerate(transports()):
        name = MODELS[i % len(MODELS)]
        cfg, model, m64 = models[name]
        C, S, K = cfg["in_channels"], cfg["input_size"], cfg["num_classes"]
        tag = "flow_%s_%s_%s" % (path, prediction, weight)
        print(tag, "on", name)
        tr = create_transport(path, prediction, None if weight == "none" else weight)
        v = OrderedDict()

        # flow_loss: training_losses with SiT's own draws replaced by given t and x0
        x1 = torch.randn(4, C, S, S, generator=gen) * 0.7
        x0 = torch.randn(4, C, S, S, generator=gen)
        lo, hi = tr.check_interval(tr.train_eps, tr.sample_eps)
        t = torch.tensor([lo, 0.25, 0.6, hi]) if hi < 1 else torch.tensor([max(lo, 0.02), 0.25, 0.6, 0.98])
        y = torch.tensor([0, K - 1, K, 1 % K])
        tr.sample = lambda xx1: (t, x0, xx1)
        with torch.no_grad():
            v["flow_loss.x1"], v["flow_loss.x0"], v["flow_loss.t"], v["flow_loss.y"] = x1, x0, t, y
            v["flow_loss.loss"] = tr.training_losses(model, x1, model_kwargs=dict(y=y))["loss"]
        del tr.sample

        scale = 4.0 if i % 2 == 1 else 1.0
        z, ys = sampling_inputs(gen, scale > 1, C, S, K)
        sampler = Sampler(tr)
        ode_method = ODE_METHODS[i % len(ODE_METHODS)]
        v.update(ode_group(tag, sampler, ode_method, ODE_STEPS, z, ys, scale, model, m64))

        method, form, norm, last, last_size = SDE_OPTIONS[i % len(SDE_OPTIONS)]
        sde = sampler.sample_sde(sampling_method=method, diffusion_form=form, diffusion_norm=norm, last_step=last,
                                 last_step_size=last_size, num_steps=SDE_STEPS)
        w = torch.randn((SDE_STEPS - 1,) + tuple(z.shape), generator=gen)
        with torch.no_grad():
            with InjectedNoise(list(w)) as n32:
                got = sde(z, model_fn(model, scale), y=ys)[-1]
            assert n32.used == SDE_STEPS - 1, "sample_sde drew %d times" % n32.used
            with InjectedNoise(list(w.double())):
                got64 = sde(z.double(), model_fn(m64, scale), y=ys)[-1]
        sde_ok = stable(tag + " sde", got, got64)
        if sde_ok:
            v["flow_sde.noise"], v["flow_sde.y"] = z, ys
            v["flow_sde.scale"], v["flow_sde.steps"] = torch.tensor([scale]), torch.tensor([SDE_STEPS])
            v["flow_sde.w"] = w
            v["flow_sde.sample"] = got.float()

        meta = {"model": json.dumps(cfg), "weights": name, "flow_path": path, "flow_prediction": prediction, "flow_loss_weight": weight,
                "flow_ode_method": ode_method, "flow_ode_atol": "1e-06", "flow_ode_rtol": "0.001", "flow_sde_method": method, "flow_sde_diffusion_form": form,
                "flow_sde_diffusion_norm": repr(norm), "flow_sde_last_step": str(last), "flow_sde_last_step_size": repr(last_size),
                "source": "willisma/SiT models.py and transport/ with rtqichen/torchdiffeq (scripts/make_flow_vectors.py)"}
        write_safetensors(os.path.join(a.out_dir, tag + ".vectors.safetensors"), v, meta)
    print("wrote", a.out_dir)


if __name__ == "__main__":
    main()
