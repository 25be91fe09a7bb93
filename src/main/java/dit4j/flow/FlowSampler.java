package dit4j.flow;

import static dit4j.runtime.TensorMath.add;
import static dit4j.runtime.TensorMath.mul;
import static dit4j.runtime.TensorMath.sqrt;
import static dit4j.runtime.TensorMath.sub;

import dit4j.diffusion.Denoiser;
import dit4j.diffusion.NoiseSource;
import dit4j.diffusion.Sampler;
import dit4j.runtime.Step;
import dit4j.runtime.Tensors;
import java.util.Arrays;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * SiT's {@code Sampler}: the probability-flow ODE ({@code sample_ode}, integrated as torchdiffeq's
 * fixed-grid solvers do on {@code linspace(t0, t1, num_steps)}) and the SDE ({@code sample_sde}:
 * Euler-Maruyama or Heun, then a last step). Times run from noise (t0 ~ 0) to data (t1 ~ 1); grids
 * and step sizes are float32 values, as the reference's tensors are. One native scope per step.
 */
public final class FlowSampler {
    private final Transport transport;

    public FlowSampler(Transport transport) {
        this.transport = transport;
    }

    static double f32(double v) {
        return (float) v;
    }

    private static Tensor times(double t, long n) {
        float[] v = new float[(int) n];
        Arrays.fill(v, (float) t);
        return Tensors.floats(v, n);
    }

    private static double[] linspace32(double a, double b, int n) {
        return Tensors.toDoubles(torch.linspace(new Scalar(a), new Scalar(b), n, new TensorOptions(ScalarType.Float)).to(ScalarType.Double));
    }

    /**
     * torchdiffeq's {@code dopri5} (Dormand-Prince 5(4), adaptive, its default options) from t0 to
     * t1, the result interpolated at t1 as torchdiffeq's {@code _advance} does. Step control is in
     * float64 as there; the stages run at float32 times (its {@code _runge_kutta_step} casts them to
     * the state's dtype), the stages at t1 one float below it ({@code Perturb.PREV}).
     */
    private final class Dopri5 {
        private final double[] alpha = {1 / 5.0, 3 / 10.0, 4 / 5.0, 8 / 9.0, 1.0, 1.0};
        private final double[][] beta = {
                {1 / 5.0},
                {3 / 40.0, 9 / 40.0},
                {44 / 45.0, -56 / 15.0, 32 / 9.0},
                {19372 / 6561.0, -25360 / 2187.0, 64448 / 6561.0, -212 / 729.0},
                {9017 / 3168.0, -355 / 33.0, 46732 / 5247.0, 49 / 176.0, -5103 / 18656.0},
                {35 / 384.0, 0, 500 / 1113.0, 125 / 192.0, -2187 / 6784.0, 11 / 84.0}};
        private final double[] cError = {35 / 384.0 - 1951 / 21600.0, 0, 500 / 1113.0 - 22642 / 50085.0, 125 / 192.0 - 451 / 720.0,
                -2187 / 6784.0 - -12231 / 42400.0, 11 / 84.0 - 649 / 6300.0, -1.0 / 60.0};
        private final double[] mid = {6025192743.0 / 30085553152.0 / 2, 0, 51252292925.0 / 65400821598.0 / 2, -2691868925.0 / 45128329728.0 / 2,
                187940372067.0 / 1594534317056.0 / 2, -1776094331.0 / 19743644256.0 / 2, 11237099.0 / 235043384.0 / 2};
        private final Denoiser model;
        private final double atol, rtol;

        Dopri5(Denoiser model, double atol, double rtol) {
            this.model = model;
            this.atol = atol;
            this.rtol = rtol;
        }

        /** The drift at a float32 time. */
        private Tensor f(double t, Tensor y) {
            return transport.drift(model, y, times(f32(t), y.size(0)));
        }

        /** sum_j k_j * (coef_j * dt), coefficients rounded to float32 as the tableau tensors are. */
        private Tensor combo(Tensor[] k, double[] coef, double dt, int n) {
            Tensor acc = null;
            for (int j = 0; j < n; j++) {
                Tensor term = mul(f32(f32(coef[j]) * dt), k[j]);
                acc = acc == null ? term : add(acc, term);
            }
            return acc;
        }

        private double rms(Tensor t) {
            return t.to(ScalarType.Double).abs().pow(new Scalar(2)).mean().sqrt().item_double();
        }

        Tensor integrate(Tensor y0in, double tStart, double tEnd, Sampler.Progress progress) {
            Tensor y = y0in.clone();
            Tensor fCur = torch.empty_like(y);
            Tensor[] coeff = new Tensor[5];
            for (int i = 0; i < 5; i++) coeff[i] = torch.empty_like(y);
            double dt;
            try (Step s = Step.open(); InferenceMode g = new InferenceMode()) {
                Tensor f0 = f(tStart, y);
                fCur.copy_(f0);
                // _select_initial_step with order 4
                Tensor scale = add(mul(rtol, y.to(ScalarType.Double).abs()), atol);
                double d0 = rms(y.to(ScalarType.Double).div(scale)), d1 = rms(f0.to(ScalarType.Double).div(scale));
                double h0 = d0 < 1e-5 || d1 < 1e-5 ? 1e-6 : 0.01 * d0 / d1;
                Tensor y1 = add(y, mul(h0, f0));
                Tensor f1 = f(tStart + h0, y1);
                double d2 = Math.abs(rms(f1.sub(f0).to(ScalarType.Double).div(scale)) / h0);
                double h1 = d1 <= 1e-15 && d2 <= 1e-15 ? Math.max(1e-6, h0 * 1e-3) : Math.pow(0.01 / Math.max(d1, d2), 1.0 / 5);
                dt = Math.min(100 * h0, h1);
            }
            double t0 = tStart, t1 = tStart;
            int steps = 0;
            while (tEnd > t1) {
                if (steps++ > 100_000) throw new IllegalStateException("dopri5: too many steps");
                double tNext = t0 = t1;
                double stepDt = dt;
                double tEndStep = t0 + stepDt;
                if (!(tEndStep > t0)) throw new IllegalStateException("dopri5: underflow in dt " + stepDt);
                double errorRatio;
                boolean accept;
                try (Step s = Step.open(); InferenceMode g = new InferenceMode()) {
                    double t0f = f32(t0), dtf = f32(stepDt), t1f = f32(tEndStep);
                    Tensor[] k = new Tensor[7];
                    k[0] = fCur;
                    Tensor yi = null;
                    for (int i = 0; i < 6; i++) {
                        double ti = alpha[i] == 1.0 ? Math.nextDown((float) t1f) : f32(t0f + f32(f32(alpha[i]) * dtf));
                        yi = add(y, combo(k, beta[i], dtf, i + 1));
                        k[i + 1] = f(ti, yi);
                    }
                    Tensor y1 = yi; // FSAL: c_sol is the last row of beta
                    Tensor err = combo(k, cError, dtf, 7);
                    Tensor tol = add(mul(rtol, torch.max(y.to(ScalarType.Double).abs(), y1.to(ScalarType.Double).abs())), atol);
                    errorRatio = rms(err.to(ScalarType.Double).div(tol));
                    accept = errorRatio <= 1;
                    if (accept) {
                        // _interp_fit: 4th-order polynomial through y0, y_mid, y1 with f0, f1
                        Tensor yMid = add(y, combo(k, mid, dtf, 7));
                        Tensor fa = k[0], fb = k[6];
                        Tensor a = add(sub(mul(f32(2 * dtf), fb.sub(fa)), mul(8.0, add(y1, y))), mul(16.0, yMid));
                        Tensor b = sub(add(add(mul(dtf, sub(mul(5.0, fa), mul(3.0, fb))), mul(18.0, y)), mul(14.0, y1)), mul(32.0, yMid));
                        Tensor c = add(sub(sub(mul(dtf, sub(fb, mul(4.0, fa))), mul(11.0, y)), mul(5.0, y1)), mul(16.0, yMid));
                        Tensor d = mul(dtf, fa);
                        coeff[0].copy_(y);
                        coeff[1].copy_(d);
                        coeff[2].copy_(c);
                        coeff[3].copy_(b);
                        coeff[4].copy_(a);
                        y.copy_(y1);
                        fCur.copy_(fb);
                        tNext = tEndStep;
                    }
                }
                // _optimal_step_size: safety 0.9, ifactor 10, dfactor 0.2 (1 when the step is accepted), order 5
                double factor;
                if (errorRatio == 0) factor = 10;
                else factor = Math.min(10, Math.max(0.9 / Math.pow(errorRatio, 1.0 / 5), errorRatio < 1 ? 1.0 : 0.2));
                dt = stepDt * factor;
                t1 = tNext;
                if (!accept) t0 = tNext;
                progress.onStep(Math.min(steps, 1000), 1000);
            }
            // _interp_evaluate at tEnd in the last accepted step [t0, t1]
            try (Step s = Step.open(); InferenceMode g = new InferenceMode()) {
                double x = f32((tEnd - t0) / (t1 - t0));
                double xp = x;
                Tensor total = add(coeff[0], mul(x, coeff[1]));
                for (int i = 2; i < 5; i++) {
                    xp = f32(xp * x);
                    total = add(total, mul(xp, coeff[i]));
                }
                y.copy_(total);
            }
            return y;
        }
    }

    /** The fixed-grid methods of torchdiffeq that this port integrates. */
    public static final java.util.List<String> ODE_METHODS = java.util.List.of("euler", "midpoint", "heun2", "heun3", "rk4");

    /**
     * {@code sample_ode(sampling_method, num_steps)(x)[-1]}: for a fixed-grid method num_steps - 1
     * steps over the grid; for dopri5 adaptive steps (SiT's default tolerances) over the same interval.
     */
    public Tensor sampleOde(Denoiser model, Tensor noise, String method, int numSteps, Sampler.Progress progress) {
        return sampleOde(model, noise, method, numSteps, 1e-6, 1e-3, progress);
    }

    /** As above, with the tolerances of an adaptive method ({@code dopri5}; SiT's defaults 1e-6 and 1e-3). */
    public Tensor sampleOde(Denoiser model, Tensor noise, String method, int numSteps, double atol, double rtol, Sampler.Progress progress) {
        if (method.equals("dopri5")) {
            double[] iv = transport.interval(true, false, "SBDM", 0.0);
            double[] ts = linspace32(iv[0], iv[1], numSteps);
            return new Dopri5(model, atol, rtol).integrate(noise, ts[0], ts[ts.length - 1], progress);
        }
        if (!ODE_METHODS.contains(method)) {
            throw new IllegalArgumentException("ODE method '" + method + "' is not implemented: expected one of " + String.join(", ", ODE_METHODS) + " or dopri5");
        }
        if (numSteps < 2) throw new IllegalArgumentException("the ODE needs at least 2 time points, got " + numSteps);
        double[] iv = transport.interval(true, false, "SBDM", 0.0);
        double[] ts = linspace32(iv[0], iv[1], numSteps);
        Tensor x = noise.clone();
        long n = x.size(0);
        for (int i = 0; i + 1 < ts.length; i++) {
            double t0 = ts[i], t1 = ts[i + 1], dt = f32(t1 - t0);
            try (Step s = Step.open(); InferenceMode g = new InferenceMode()) {
                Func f = (tt, y) -> transport.drift(model, y, times(tt, n));
                x.copy_(add(x, odeStep(method, f, t0, dt, t1, x)));
            }
            progress.onStep(i + 1, ts.length - 1);
        }
        return x;
    }

    @FunctionalInterface
    private interface Func {
        Tensor at(double t, Tensor y);
    }

    /** One torchdiffeq step: dy of {@code _step_func}, in the reference's operation order. */
    private static Tensor odeStep(String method, Func f, double t0, double dt, double t1, Tensor y0) {
        Tensor k1 = f.at(t0, y0);
        switch (method) {
            case "euler":
                return mul(dt, k1);
            case "midpoint": {
                double halfDt = f32(0.5 * dt);
                return mul(dt, f.at(f32(t0 + halfDt), add(y0, mul(halfDt, k1))));
            }
            case "heun2": {
                Tensor k2 = f.at(f32(t0 + f32(dt * 1.0)), add(y0, mul(1.0, mul(dt, k1))));
                return mul(dt, add(mul(0.5, k1), mul(0.5, k2)));
            }
            case "heun3": {
                double third = 1.0 / 3, twoThirds = 2.0 / 3;
                Tensor k2 = f.at(f32(t0 + f32(dt * f32(third))), add(y0, mul(third, mul(dt, k1))));
                Tensor k3 = f.at(f32(t0 + f32(dt * f32(twoThirds))), add(y0, mul(dt, add(mul(0.0, k1), mul(twoThirds, k2)))));
                return mul(dt, add(add(mul(0.25, k1), mul(0.0, k2)), mul(0.75, k3)));
            }
            case "rk4": {
                double third = 1.0 / 3, twoThirds = 2.0 / 3;
                Tensor k2 = f.at(f32(t0 + f32(dt * f32(third))), add(y0, mul(third, mul(dt, k1))));
                Tensor k3 = f.at(f32(t0 + f32(dt * f32(twoThirds))), add(y0, mul(dt, k2.sub(mul(third, k1)))));
                Tensor k4 = f.at(t1, add(y0, mul(dt, add(k1.sub(k2), k3))));
                return mul(0.125, mul(dt, add(add(k1, mul(3.0, add(k2, k3))), k4)));
            }
            default:
                throw new IllegalStateException(method);
        }
    }

    /** {@code sample_sde(...)}'s options. lastStep is "Mean", "Tweedie", "Euler" or null (none). */
    public record SdeOptions(String method, String diffusionForm, double diffusionNorm, String lastStep, double lastStepSize, int numSteps) {
        /** SiT's defaults: Euler, SBDM, norm 1, a Mean last step of 0.04, 250 steps. */
        public static SdeOptions defaults(int numSteps) {
            return new SdeOptions("Euler", "SBDM", 1.0, "Mean", 0.04, numSteps);
        }
    }

    /** SDE drift: ODE drift + diffusion * score, from one model call (SiT calls the model twice for the same value). */
    private Tensor sdeDrift(Denoiser model, Tensor x, Tensor t, SdeOptions o) {
        Tensor out = model.apply(x, t);
        Tensor diffusion = transport.path.diffusion(x, Transport.expand(t, x), o.diffusionForm(), o.diffusionNorm());
        return add(transport.driftOf(out, x, t), mul(diffusion, transport.scoreOf(out, x, t)));
    }

    /**
     * The last state of {@code sample_sde(...)(x)}: num_steps - 1 noisy steps, each with one draw from
     * {@code noise}, then the last step at t1.
     */
    public Tensor sampleSde(Denoiser model, Tensor init, SdeOptions o, NoiseSource noise, Sampler.Progress progress) {
        if (!o.method().equals("Euler") && !o.method().equals("Heun")) throw new IllegalArgumentException("SDE method must be Euler or Heun, got '" + o.method() + "'");
        double lastStepSize = o.lastStep() == null ? 0.0 : o.lastStepSize();
        double[] iv = transport.interval(true, true, o.diffusionForm(), lastStepSize);
        if (!(iv[0] < iv[1])) throw new IllegalArgumentException("SDE sampler has to be in forward time");
        if (o.numSteps() < 2) throw new IllegalArgumentException("the SDE needs at least 2 time points, got " + o.numSteps());
        double[] ts = linspace32(iv[0], iv[1], o.numSteps());
        double dt = f32(ts[1] - ts[0]);
        double sqrtDt = f32(Math.sqrt(dt));
        Tensor x = init.clone();
        long n = x.size(0);
        for (int i = 0; i + 1 < ts.length; i++) {
            double ti = ts[i];
            try (Step s = Step.open(); InferenceMode g = new InferenceMode()) {
                Tensor dw = mul(sqrtDt, noise.randnLike(x));
                Tensor t = times(ti, n);
                Tensor diffusion = transport.path.diffusion(x, Transport.expand(t, x), o.diffusionForm(), o.diffusionNorm());
                if (o.method().equals("Euler")) {
                    Tensor meanX = add(x, mul(dt, sdeDrift(model, x, t, o)));
                    x.copy_(add(meanX, mul(sqrt(mul(2.0, diffusion)), dw)));
                } else {
                    Tensor xhat = add(x, mul(sqrt(mul(2.0, diffusion)), dw));
                    Tensor k1 = sdeDrift(model, xhat, t, o);
                    Tensor xp = add(xhat, mul(dt, k1));
                    Tensor k2 = sdeDrift(model, xp, times(f32(ti + dt), n), o);
                    x.copy_(add(xhat, mul(f32(0.5 * dt), add(k1, k2))));
                }
            }
            progress.onStep(i + 1, ts.length - 1);
        }
        if (o.lastStep() == null) return x;
        try (Step s = Step.open(); InferenceMode g = new InferenceMode()) {
            Tensor t = times(iv[1], n);
            Tensor last = switch (o.lastStep()) {
                case "Mean" -> add(x, mul(lastStepSize, sdeDrift(model, x, t, o)));
                case "Euler" -> add(x, mul(lastStepSize, transport.drift(model, x, t)));
                case "Tweedie" -> {
                    // alpha(t)[0][0]: the coefficient of the first sample, as a scalar
                    Tensor te = Transport.expand(t, x);
                    double alpha = transport.path.alpha(te).flatten(0, -1).get(0).item_double();
                    double sigma = transport.path.sigma(te).flatten(0, -1).get(0).item_double();
                    yield add(x.div(new Scalar(alpha)), mul(f32(f32(sigma * sigma) / alpha), transport.score(model, x, t)));
                }
                default -> throw new IllegalArgumentException("last step must be Mean, Tweedie, Euler or None, got '" + o.lastStep() + "'");
            };
            x.copy_(last);
        }
        return x;
    }

    /**
     * The ODE as a {@link Sampler} over a DiT denoiser (C or 2C output channels; SiT keeps the
     * first C): {@code numSteps} time points, {@code numSteps - 1} steps.
     */
    public Sampler ode(String method, int numSteps, long channels) {
        if (!ODE_METHODS.contains(method) && !method.equals("dopri5")) throw new IllegalArgumentException("ODE method must be one of " + String.join(", ", ODE_METHODS) + ", got '" + method + "'");
        return new Sampler() {
            @Override
            public Tensor sample(Denoiser model, Tensor noise, NoiseSource noiseSource, boolean clipDenoised, Progress progress) {
                return sampleOde(firstChannels(model, channels), noise, method, numSteps, progress);
            }

            @Override
            public int steps() {
                return numSteps - 1;
            }
        };
    }

    /** The SDE as a {@link Sampler}, drawing its noise from the sampler's noise source. */
    public Sampler sde(SdeOptions o, long channels) {
        return new Sampler() {
            @Override
            public Tensor sample(Denoiser model, Tensor noise, NoiseSource noiseSource, boolean clipDenoised, Progress progress) {
                return sampleSde(firstChannels(model, channels), noise, o, noiseSource, progress);
            }

            @Override
            public int steps() {
                return o.numSteps() - 1;
            }
        };
    }

    private static Denoiser firstChannels(Denoiser model, long channels) {
        return (x, t) -> {
            Tensor out = model.apply(x, t);
            return out.size(1) == channels ? out : out.narrow(1, 0, channels);
        };
    }
}
