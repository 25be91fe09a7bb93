package dit4j.diffusion;

import static dit4j.runtime.TensorMath.add;
import static dit4j.runtime.TensorMath.mul;
import static dit4j.runtime.TensorMath.sub;

import dit4j.runtime.Step;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * DDIM with noise eta (Song et al. 2021, eq. 12) on a continuous {@link NoiseSchedule}, time-uniform
 * steps: from t to the next time s,
 * <pre>
 *   eps = (x_t - alpha_t x0) / sigma_t
 *   c   = eta sigma_s sqrt(1 - SNR_t / SNR_s)
 *   x_s = alpha_s x0 + sqrt(sigma_s^2 - c^2) eps + c z
 * </pre>
 * With eta = 1 this is DDPM's ancestral step: x_s drawn from the posterior q(x_s | x_t, x0), whose
 * variance is sigma_s^2 (1 - SNR_t / SNR_s) for any Gaussian path; with eta = 0 it is the
 * deterministic DDIM step, which equals DPM-Solver-1. This is how flow checkpoints take
 * {@code --sampler ddpm|ddim} (the official respaced samplers need a discrete DDPM schedule).
 */
public final class AncestralSampler implements Sampler {
    private final NoiseSchedule ns;
    private final int steps;
    private final double eta;

    public AncestralSampler(NoiseSchedule schedule, int steps, double eta) {
        if (steps < 1) throw new IllegalArgumentException("the sampler needs at least one step, got " + steps);
        this.ns = schedule;
        this.steps = steps;
        this.eta = eta;
    }

    @Override
    public Tensor sample(Denoiser model, Tensor noise, NoiseSource noiseSource, boolean clipDenoised, Progress progress) {
        double[] ts = ns.timeSteps(NoiseSchedule.SkipType.TIME_UNIFORM, steps);
        Tensor x = noise.clone();
        for (int i = 0; i < steps; i++) {
            double t = ts[i], s = ts[i + 1];
            try (Step scope = Step.open(); InferenceMode g = new InferenceMode()) {
                Tensor out = model.apply(x, ns.modelInputTime(t, x.size(0), true));
                Tensor x0 = ns.dataPrediction(out.size(1) == x.size(1) ? out : out.narrow(1, 0, x.size(1)), x, t);
                if (clipDenoised) x0 = torch.clamp(x0, new ScalarOptional(new Scalar(-1.0)), new ScalarOptional(new Scalar(1.0)));
                double alphaT = ns.marginalAlpha(t), sigmaT = ns.marginalStd(t);
                double alphaS = ns.marginalAlpha(s), sigmaS = ns.marginalStd(s);
                double snrRatio = Math.exp(2 * (ns.marginalLambda(t) - ns.marginalLambda(s)));   // SNR_t / SNR_s
                double c = eta * sigmaS * Math.sqrt(Math.max(0, 1 - snrRatio));
                Tensor eps = mul(1 / sigmaT, sub(x, mul(alphaT, x0)));
                Tensor next = add(mul(alphaS, x0), mul(Math.sqrt(Math.max(0, sigmaS * sigmaS - c * c)), eps));
                if (c > 0) next = add(next, mul(c, noiseSource.randnLike(x)));
                x.copy_(next);
            }
            progress.onStep(i + 1, steps);
        }
        return x;
    }

    @Override
    public int steps() {
        return steps;
    }
}
