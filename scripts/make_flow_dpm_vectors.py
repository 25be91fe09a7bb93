#!/usr/bin/python3
"""`dpm` test vectors for dit4j on SiT flow-matching models: DPM-Solver++ (LuChengTHU/dpm-solver)
over willisma/SiT's paths and models.

    /usr/bin/python3 scripts/make_flow_dpm_vectors.py --sit /path/to/SiT --torchdiffeq /path/to/torchdiffeq \
        --dpm-solver /path/to/dpm-solver [--weights src/test/resources/official] [OUT_DIR]

The three checkouts are imported unmodified (SiT's models.py and transport/, which imports
torchdiffeq, and dpm-solver's dpm_solver_pytorch.py); nothing of them is copied into this
repository. models.py gets the timm stand-ins of make_official_vectors.py, transport/ an empty
tqdm module and, without scipy, torchdiffeq's unused import of scipy.integrate.solve_ivp an empty
stand-in too (python3-scipy would bring OpenBLAS into Debian's torch): make_flow_vectors.py's
install_sit_stand_ins. The models are committed official test models.

DPM time is tau = 1 - t (SiT's t: 0 noise, 1 data). FlowSchedule gives DPM_Solver alpha(tau) and
sigma(tau) from SiT's path objects at t = 1 - tau in float64, and FlowDpmSolver (the reference
DPM_Solver, algorithm_type='dpmsolver++') turns the model output at t into the data prediction.
The interval is SiT's check_interval(train_eps, sample_eps, sde=False, eval=True) and the time grid
the reference's get_time_steps. sample() runs the reference's multistep loop as DPM_Solver.sample
(method='multistep', lower_order_final=True) does, except that a step ending at the data (tau = 0,
where lambda is infinite) is order 1; where the interval stops short of the data the two are checked
to agree exactly. Each case of CASES writes OUT_DIR/flow_dpm_<path>_<prediction>_<order>m_<skip>
_s<scale>_n<steps>.vectors.safetensors with one `dpm` group, kept only when the float32 model's run
agrees with a float64 copy's to a quarter of the tolerance dpm.sample is compared with (atol scaled
by max(1, max|sample|): noise and score models with random weights predict data ~1e3 at t = 1e-3).
Written for Debian's python3-torch (1.13); nothing here runs at test time.
"""
import argparse
import json
import math
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from make_official_vectors import write_safetensors, float64_copy, stable  # noqa: E402
from make_sampler_vectors import read_metadata, dpm_group  # noqa: E402
from make_flow_vectors import install_sit_stand_ins  # noqa: E402

MODELS = ["eps_learned_linear_p2", "eps_fixedlarge_linear_p4", "x0_learned_cosine_p2"]
# (path, prediction, order, skip type, guidance scale, steps, index in MODELS). 7 steps: the
# reference's lower_order_final is active (below 10 steps); 12 and 20: it is not, and for
# Linear/GVP velocity (interval up to t = 1) the last step is order 1 by the data-end rule.
# logSNR needs a finite lambda at both ends: not for Linear/GVP velocity (alpha = 0 at t = 0).
CASES = [
    ("Linear", "velocity", 2, "time_uniform", 1.0, 7, 0),
    ("Linear", "velocity", 3, "time_uniform", 4.0, 20, 0),
    ("Linear", "velocity", 2, "time_quadratic", 4.0, 12, 1),
    ("Linear", "velocity", 3, "time_uniform", 1.0, 12, 2),
    ("GVP", "velocity", 2, "time_uniform", 4.0, 20, 1),
    ("GVP", "velocity", 3, "time_uniform", 1.0, 7, 2),
    ("GVP", "velocity", 3, "time_quadratic", 1.0, 20, 0),
    ("VP", "velocity", 2, "logSNR", 1.0, 12, 0),
    ("VP", "velocity", 3, "time_uniform", 4.0, 7, 1),
    ("VP", "velocity", 2, "time_uniform", 1.0, 20, 2),
    ("Linear", "noise", 2, "logSNR", 4.0, 12, 0),
    ("Linear", "noise", 3, "time_uniform", 1.0, 7, 1),
    ("Linear", "score", 2, "time_uniform", 4.0, 20, 2),
    ("GVP", "noise", 2, "time_uniform", 4.0, 7, 0),
    ("GVP", "score", 3, "logSNR", 1.0, 20, 2),
    ("VP", "score", 2, "time_uniform", 1.0, 12, 1),
    ("VP", "noise", 3, "logSNR", 4.0, 20, 2),
]


class FlowSchedule:
    """The noise-schedule interface DPM_Solver uses, in DPM time tau = 1 - t, from a SiT path
    (ICPlan, GVPCPlan, VPCPlan) in float64. lambda = log alpha - log sigma is -inf where alpha = 0."""
    T = 1.0

    def __init__(self, path, plan, vp):
        self.path, self.plan, self.vp = path, plan, vp  # vp: NoiseScheduleVP('linear', 0.1, 20)

    @staticmethod
    def sit_time(tau):
        return 1 - tau.to(torch.float64).reshape(-1)

    def marginal_alpha(self, tau):
        return self.plan.compute_alpha_t(self.sit_time(tau))[0]

    def marginal_std(self, tau):
        return self.plan.compute_sigma_t(self.sit_time(tau))[0]

    def marginal_log_mean_coeff(self, tau):
        return torch.log(self.marginal_alpha(tau))

    def marginal_lambda(self, tau):
        return self.marginal_log_mean_coeff(tau) - torch.log(self.marginal_std(tau))

    def inverse_lambda(self, lamb):
        lamb = lamb.to(torch.float64)
        if self.path == "Linear":  # alpha / sigma = t / (1 - t)
            return torch.sigmoid(-lamb)
        if self.path == "GVP":  # alpha / sigma = tan(pi t / 2)
            return 1 - 2 / math.pi * torch.atan(torch.exp(lamb))
        return self.vp.inverse_lambda(lamb)  # VPCPlan in tau is this schedule (checked in check_schedules)

    def data_from(self, prediction, out, x, tau):
        """x1 (the data) from the model output at tau; derivatives are d/dt."""
        t = self.sit_time(tau)
        a, da = self.plan.compute_alpha_t(t)
        s, ds = self.plan.compute_sigma_t(t)
        if prediction == "velocity":
            return (ds * x - s * out) / (a * ds - s * da)
        if prediction == "noise":
            return (x - s * out) / a
        return (x + s ** 2 * out) / a  # score


def check_schedules(schedules, vp):
    """VPCPlan is NoiseScheduleVP('linear', 0.1, 20) in tau; each inverse_lambda inverts
    marginal_lambda; the velocity rule is SiT's own get_noise_from_velocity conversion."""
    tau = torch.linspace(0, 1, 101, dtype=torch.float64)
    ours = schedules["VP"]
    assert torch.allclose(ours.marginal_log_mean_coeff(tau), vp.marginal_log_mean_coeff(tau), rtol=1e-13, atol=0)
    assert torch.allclose(ours.marginal_std(tau), vp.marginal_std(tau), rtol=1e-13, atol=1e-15)
    inner = tau[1:-1]
    assert torch.allclose(ours.marginal_lambda(inner), vp.marginal_lambda(inner), rtol=1e-12, atol=1e-12)
    gen = torch.Generator().manual_seed(1)
    x, v = torch.randn(2, 3, 4, 4, generator=gen, dtype=torch.float64), torch.randn(2, 3, 4, 4, generator=gen, dtype=torch.float64)
    for path, ns in schedules.items():
        assert torch.allclose(ns.inverse_lambda(ns.marginal_lambda(inner)), inner, rtol=0, atol=1e-12), path
        for tv in (0.1, 0.5, 0.9):
            t = torch.tensor([tv], dtype=torch.float64)
            a, s = ns.plan.compute_alpha_t(t)[0], ns.plan.compute_sigma_t(t)[0]
            want = (x - s * ns.plan.get_noise_from_velocity(v, x, t)) / a
            assert torch.allclose(ns.data_from("velocity", v, x, 1 - t), want, rtol=1e-10, atol=1e-12), (path, tv)


def flow_model(model, C, y, null, scale):
    """SiT's model at t = 1 - tau (float32): forward_with_cfg over [x, x] and [y, null] when guided
    (guidance on the first 3 channels, the first half kept), forward otherwise."""
    p = next(model.parameters()).dtype

    def fn(x, tau):
        n, t = x.shape[0], (1 - tau).float()
        if scale == 1:
            out = model.forward(x.to(p), t, y)
        else:
            out = model.forward_with_cfg(torch.cat([x, x]).to(p), torch.cat([t, t]), torch.cat([y, torch.full_like(y, null)]), scale)
        return out[:n, :C]
    return fn


def flow_solver(dpm, fn, ns, prediction):
    class FlowDpmSolver(dpm.DPM_Solver):
        def data_prediction_fn(self, x, t):
            return self.noise_schedule.data_from(prediction, self.model(x, t), x, t)
    return FlowDpmSolver(fn, ns, algorithm_type="dpmsolver++")


def sample(solver, x, steps, order, skip, tau_T, tau_end):
    """DPM_Solver.sample(x, steps, tau_T, tau_end, order, skip, method='multistep',
    lower_order_final=True) step for step, but a step ending at tau = 0 is order 1."""
    assert steps >= order
    timesteps = solver.get_time_steps(skip_type=skip, t_T=tau_T, t_0=tau_end, N=steps, device=x.device)
    assert timesteps.shape[0] - 1 == steps
    with torch.no_grad():
        t = timesteps[0]
        t_prev_list, model_prev_list = [t], [solver.model_fn(x, t)]
        for step in range(1, order):  # warm-up: never the last step, as steps >= order
            t = timesteps[step]
            x = solver.multistep_dpm_solver_update(x, model_prev_list, t_prev_list, t, step)
            t_prev_list.append(t)
            model_prev_list.append(solver.model_fn(x, t))
        for step in range(order, steps + 1):
            t = timesteps[step]
            step_order = min(order, steps + 1 - step) if steps < 10 else order
            if step == steps and tau_end == 0:
                step_order = 1  # the data end: lambda = +inf, the multistep correction diverges
            x = solver.multistep_dpm_solver_update(x, model_prev_list, t_prev_list, t, step_order)
            for i in range(order - 1):
                t_prev_list[i] = t_prev_list[i + 1]
                model_prev_list[i] = model_prev_list[i + 1]
            t_prev_list[-1] = t
            if step < steps:
                model_prev_list[-1] = solver.model_fn(x, t)
    return x


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sit", required=True, help="a checkout of willisma/SiT")
    ap.add_argument("--torchdiffeq", required=True, help="a checkout of rtqichen/torchdiffeq")
    ap.add_argument("--dpm-solver", required=True, help="a checkout of LuChengTHU/dpm-solver")
    ap.add_argument("--weights", default="src/test/resources/official", help="the official test models")
    ap.add_argument("out_dir", nargs="?", default="src/test/resources/official/flow_dpm")
    a = ap.parse_args()
    install_sit_stand_ins()
    for checkout in (a.torchdiffeq, a.sit, a.dpm_solver):
        sys.path.insert(0, os.path.abspath(checkout))
    from models import SiT
    from transport import create_transport, path as sit_path
    import dpm_solver_pytorch as dpm
    torch.set_num_threads(1)

    vp = dpm.NoiseScheduleVP("linear", continuous_beta_0=0.1, continuous_beta_1=20.)
    schedules = {"Linear": FlowSchedule("Linear", sit_path.ICPlan(), vp), "GVP": FlowSchedule("GVP", sit_path.GVPCPlan(), vp),
                 "VP": FlowSchedule("VP", sit_path.VPCPlan(), vp)}
    check_schedules(schedules, vp)
    models = []
    for name in MODELS:
        cfg = json.loads(read_metadata(os.path.join(a.weights, name + ".vectors.safetensors"))["model"])
        m = SiT(**cfg)
        m.load_state_dict(torch.load(os.path.join(a.weights, name + ".state_dict.pt")))
        m.eval()
        models.append((name, cfg, m, float64_copy(m)))

    os.makedirs(a.out_dir, exist_ok=True)
    gen = torch.Generator().manual_seed(5050)
    kept = 0
    for path, prediction, order, skip, scale, steps, mi in CASES:
        name, cfg, model, m64 = models[mi]
        C, S, K = cfg["in_channels"], cfg["input_size"], cfg["num_classes"]
        tag = "flow_dpm_%s_%s_%dm_%s_s%g_n%d" % (path, prediction, order, skip, scale, steps)
        tr = create_transport(path, prediction, None)
        t0, t1 = tr.check_interval(tr.train_eps, tr.sample_eps, sde=False, eval=True)
        tau_T, tau_end = 1 - t0, 1 - t1
        ns = schedules[path]
        ends = ns.marginal_lambda(torch.tensor([tau_T, tau_end], dtype=torch.float64))
        assert skip != "logSNR" or torch.isfinite(ends).all(), tag + ": logSNR needs a finite lambda at both ends"
        noise = torch.randn(2, C, S, S, generator=gen)
        y = torch.tensor([K - 1, 1 % K])
        solver = flow_solver(dpm, flow_model(model, C, y, K, scale), ns, prediction)
        got = sample(solver, noise, steps, order, skip, tau_T, tau_end)
        got64 = sample(flow_solver(dpm, flow_model(m64, C, y, K, scale), ns, prediction), noise.double(), steps, order, skip, tau_T, tau_end)
        assert torch.isfinite(got).all() and torch.isfinite(got64).all(), tag + ": not finite"
        if tau_end > 0:  # no data-end step: must be the reference's own sample() exactly
            ref = solver.sample(noise, steps=steps, t_start=tau_T, t_end=tau_end, order=order, skip_type=skip,
                                method="multistep", lower_order_final=True)
            assert torch.equal(ref, got), tag + ": differs from DPM_Solver.sample"
        print("%s on %s: t in [%g, %g], max |sample| %.3g" % (tag, name, t0, t1, got.abs().max().item()))
        # dit verify compares dpm.sample with atol scaled by max(1, max|want|): so does the check
        scale_of = max(1.0, got64.abs().max().item())
        if not stable(tag + " /%.3g" % scale_of, got / scale_of, got64 / scale_of):
            print("  %s left out: not stable in float32" % tag)
            continue
        v = dpm_group(noise, y, steps, order, scale, got)
        meta = {"model": json.dumps(cfg), "weights": name, "objective": "flow", "flow_path": path, "flow_prediction": prediction,
                "flow_loss_weight": "none", "dpm_skip_type": skip,
                "source": "LuChengTHU/dpm-solver dpm_solver_pytorch.py over willisma/SiT models.py and transport/ (scripts/make_flow_dpm_vectors.py)"}
        write_safetensors(os.path.join(a.out_dir, tag + ".vectors.safetensors"), v, meta)
        kept += 1
    print("kept %d of %d files in %s" % (kept, len(CASES), a.out_dir))


if __name__ == "__main__":
    main()
