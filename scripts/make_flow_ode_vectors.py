#!/usr/bin/python3
"""`flow_ode` test vectors for dit4j with torchdiffeq's other adaptive Runge-Kutta methods (bosh3,
fehlberg2, adaptive_heun), computed by SiT's own code (willisma/SiT) as make_flow_vectors.py does.

    /usr/bin/python3 scripts/make_flow_ode_vectors.py --sit /path/to/SiT --torchdiffeq /path/to/torchdiffeq \
        [--weights src/test/resources/official] [OUT_DIR]

The checkouts, stand-ins, test models, start noise, model_fn and stability check are those of
make_flow_vectors.py (imported from it). Each case of CASES writes
OUT_DIR/flow_ode_<path>_<prediction>_<method>.vectors.safetensors holding one flow_ode group,
Sampler(create_transport(path, prediction)).sample_ode(sampling_method=method, num_steps, atol,
rtol)(noise, model_fn)[-1], kept only where float32 agrees with float64 to a quarter of the default
tolerance. The metadata gives flow_ode_atol and flow_ode_rtol only where they are not SiT's
defaults (1e-6, 1e-3). The accepted and rejected steps of torchdiffeq's
RKAdaptiveStepsizeODESolver and the error ratio nearest 1 are printed (its _adaptive_step and
_compute_error_ratio are wrapped, not changed).
Written for Debian's python3-torch (1.13).
"""
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from make_official_vectors import write_safetensors  # noqa: E402
from make_flow_vectors import MODELS, sit_arguments, import_sit, load_models, sampling_inputs, ode_group  # noqa: E402

# (path, prediction, method, guidance scale, points, (atol, rtol), index in MODELS): each method on
# each path and each prediction once; None is SiT's default tolerances. (VP noise with adaptive_heun
# is left out: torchdiffeq stops there with "underflow in dt" at almost every setting.)
LOOSE = (1e-4, 1e-2)
CASES = [
    ("Linear", "velocity", "fehlberg2", 1.0, 8, None, 2),
    ("Linear", "noise", "adaptive_heun", 4.0, 8, None, 1),
    ("Linear", "score", "bosh3", 1.0, 5, None, 0),
    ("GVP", "velocity", "adaptive_heun", 4.0, 8, LOOSE, 2),
    ("GVP", "noise", "bosh3", 1.0, 8, None, 1),
    ("GVP", "score", "fehlberg2", 4.0, 12, None, 0),
    ("VP", "velocity", "bosh3", 4.0, 8, None, 1),
    ("VP", "noise", "fehlberg2", 1.0, 8, LOOSE, 0),
    ("VP", "score", "adaptive_heun", 1.0, 8, None, 2),
]


def count_steps(rk_common):
    """Wraps torchdiffeq's RKAdaptiveStepsizeODESolver._adaptive_step and _compute_error_ratio;
    returns the list it appends (dtype, accepted, error ratio) to for every step tried."""
    log, last = [], []
    step, ratio = rk_common.RKAdaptiveStepsizeODESolver._adaptive_step, rk_common._compute_error_ratio

    def error_ratio(*args, **kw):
        r = ratio(*args, **kw)
        last[:] = [r.item()]
        return r

    def counted(self, rk_state):
        new = step(self, rk_state)
        log.append((rk_state.y1.dtype, bool(new.t1 != rk_state.t1), last[0]))
        return new
    rk_common._compute_error_ratio, rk_common.RKAdaptiveStepsizeODESolver._adaptive_step = error_ratio, counted
    return log


def main():
    a = sit_arguments(__doc__, "src/test/resources/official/flow_ode").parse_args()
    SiT, create_transport, Sampler = import_sit(a)
    from torchdiffeq._impl import rk_common
    steps_log = count_steps(rk_common)
    os.makedirs(a.out_dir, exist_ok=True)
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(6060)
    models = load_models(a.weights, SiT)
    kept = 0
    for path, prediction, method, scale, steps, tol, mi in CASES:
        name = MODELS[mi]
        cfg, model, m64 = models[name]
        C, S, K = cfg["in_channels"], cfg["input_size"], cfg["num_classes"]
        tag = "flow_ode_%s_%s_%s" % (path, prediction, method)
        atol, rtol = tol or (1e-6, 1e-3)
        z, ys = sampling_inputs(gen, scale > 1, C, S, K)
        del steps_log[:]
        v = ode_group(tag, Sampler(create_transport(path, prediction, None)), method, steps, z, ys, scale, model, m64, atol, rtol)
        counts = ["%d accepted, %d rejected, error ratio nearest 1: %.6f"
                  % (sum(ok for d, ok, r in steps_log if d == dt), sum(not ok for d, ok, r in steps_log if d == dt),
                     min((r for d, ok, r in steps_log if d == dt), key=lambda r: abs(r - 1))) for dt in (torch.float32, torch.float64)]
        print("%s on %s, scale %g, %d points, atol %g, rtol %g\n  float32: %s\n  float64: %s"
              % (tag, name, scale, steps, atol, rtol, counts[0], counts[1]))
        if not v:
            print("  %s left out: not stable in float32" % tag)
            continue
        meta = {"model": json.dumps(cfg), "weights": name, "flow_path": path, "flow_prediction": prediction, "flow_loss_weight": "none",
                "flow_ode_method": method,
                "source": "willisma/SiT models.py and transport/ with rtqichen/torchdiffeq (scripts/make_flow_ode_vectors.py)"}
        if tol:
            meta["flow_ode_atol"], meta["flow_ode_rtol"] = repr(atol), repr(rtol)
        write_safetensors(os.path.join(a.out_dir, tag + ".vectors.safetensors"), v, meta)
        kept += 1
    print("kept %d of %d files in %s" % (kept, len(CASES), a.out_dir))


if __name__ == "__main__":
    main()
