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

    /** The fixed-grid methods of torchdiffeq that this port integrates. */
    public static final java.util.List<String> ODE_METHODS = java.util.List.of("euler", "midpoint", "heun2", "heun3", "rk4");

    /**
     * {@code sample_ode(sampling_method, num_steps)(x)[-1]}: for a fixed-grid method num_steps - 1
     * steps over the grid; for an adaptive method (dopri5, bosh3, fehlberg2, adaptive_heun) adaptive
     * steps (SiT's default tolerances) over the same interval.
     */
    public Tensor sampleOde(Denoiser model, Tensor noise, String method, int numSteps, Sampler.Progress progress) {
        return sampleOde(model, noise, method, numSteps, 1e-6, 1e-3, progress);
    }

    /** As above, with the tolerances of an adaptive method (SiT's defaults 1e-6 and 1e-3). */
    public Tensor sampleOde(Denoiser model, Tensor noise, String method, int numSteps, double atol, double rtol, Sampler.Progress progress) {
        AdaptiveRk.Tableau adaptive = AdaptiveRk.METHODS.get(method);
        if (adaptive != null) {
            double[] iv = transport.interval(true, false, "SBDM", 0.0);
            double[] ts = linspace32(iv[0], iv[1], numSteps);
            long n = noise.size(0);
            return AdaptiveRk.integrate(adaptive, (t, y) -> transport.drift(model, y, times(f32(t), n)), noise, ts[0], ts[ts.length - 1], atol, rtol, progress);
        }
        if (!ODE_METHODS.contains(method)) {
            throw new IllegalArgumentException("ODE method '" + method + "' is not implemented: expected one of " + String.join(", ", ODE_METHODS)
                    + " or the adaptive " + String.join(", ", AdaptiveRk.METHODS.keySet()));
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
    interface Func {
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
        if (!ODE_METHODS.contains(method) && !AdaptiveRk.METHODS.containsKey(method)) throw new IllegalArgumentException("ODE method must be one of " + String.join(", ", ODE_METHODS) + ", got '" + method + "'");
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
