package dit4j.diffusion;

import static dit4j.runtime.TensorMath.add;
import static dit4j.runtime.TensorMath.mul;
import static dit4j.runtime.TensorMath.sub;

import dit4j.diffusion.NoiseSchedule.SkipType;
import dit4j.runtime.Step;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Multistep DPM-Solver++ (Lu et al. 2022), as LuChengTHU/dpm-solver's {@code DPM_Solver(...,
 * algorithm_type='dpmsolver++').sample(x, steps, order, skip_type, method='multistep',
 * lower_order_final=True)} computes it: data prediction, no thresholding, a deterministic ODE
 * solver with one model evaluation per step.
 *
 * <p>The schedule says what the model is fed ({@code (t - 1/N) * 1000} for the discrete DDPM
 * schedules, SiT's t for a flow) and how its first C output channels (noise, x_0, velocity or
 * score) become the data prediction. Guidance is the denoiser's
 * business: {@code dit4j.eval.Verify} wraps the model as the reference's {@code model_wrapper}
 * does, {@code dit4j.sample.Generation} with the DiT's {@code forward_with_cfg}.
 *
 * <p>Quirk kept from the reference: {@code lower_order_final} lowers the order of the last steps
 * only when there are fewer than 10 steps; at 20 steps every step after the warm-up has the full order.
 * A step into the data end itself (sigma = 0, a flow's t = 1) is first order whatever the count:
 * the multistep correction grows without bound as lambda goes to +inf (diffusers' multistep solver
 * does the same for a final sigma of zero). A start at pure noise (alpha = 0, lambda = -inf) needs
 * no rule: the updates' limits there are what IEEE arithmetic gives.
 */
public final class DpmSolver implements Sampler {
    private final NoiseSchedule ns;
    private final int steps;
    private final int order;
    private final SkipType skip;
    private final boolean lowerOrderFinal;

    public DpmSolver(NoiseSchedule schedule, int steps, int order, SkipType skip, boolean lowerOrderFinal) {
        if (order < 1 || order > 3) throw new IllegalArgumentException("DPM-Solver order must be 1, 2 or 3, got " + order);
        if (steps < order) throw new IllegalArgumentException("DPM-Solver needs at least as many steps as its order (" + order + "), got " + steps);
        this.ns = schedule;
        this.steps = steps;
        this.order = order;
        this.skip = skip;
        this.lowerOrderFinal = lowerOrderFinal;
    }

    /** The schedule's data prediction at (x, t), optionally clamped to [-1, 1] (a correcting_x0_fn). */
    private Tensor dataPrediction(Denoiser model, Tensor x, double t, boolean clip) {
        Tensor out = model.apply(x, ns.modelInputTime(t, x.size(0), skip.float32Times()));
        Tensor pred = out.size(1) == x.size(1) ? out : out.narrow(1, 0, x.size(1));
        Tensor x0 = ns.dataPrediction(pred, x, t);
        if (clip) x0 = torch.clamp(x0, new ScalarOptional(new Scalar(-1.0)), new ScalarOptional(new Scalar(1.0)));
        return x0;
    }

    /** DPM-Solver-1 (DDIM) from s to t: x_t = sigma_t / sigma_s x - alpha_t phi_1 m_s. */
    private Tensor firstUpdate(Tensor x, double s, double t, Tensor modelS) {
        double h = ns.marginalLambda(t) - ns.marginalLambda(s);
        double alphaT = ns.marginalAlpha(t);
        double phi1 = Math.expm1(-h);
        return sub(mul(ns.marginalStd(t) / ns.marginalStd(s), x), mul(alphaT * phi1, modelS));
    }

    /** Multistep DPM-Solver++(2M), solver_type 'dpmsolver'. */
    private Tensor secondUpdate(Tensor x, List<Tensor> m, List<Double> tp, double t) {
        Tensor m1 = m.get(m.size() - 2), m0 = m.get(m.size() - 1);
        double tPrev1 = tp.get(tp.size() - 2), tPrev0 = tp.get(tp.size() - 1);
        double lambdaPrev1 = ns.marginalLambda(tPrev1), lambdaPrev0 = ns.marginalLambda(tPrev0), lambdaT = ns.marginalLambda(t);
        double sigmaPrev0 = ns.marginalStd(tPrev0), sigmaT = ns.marginalStd(t);
        double alphaT = ns.marginalAlpha(t);
        double h0 = lambdaPrev0 - lambdaPrev1;
        double h = lambdaT - lambdaPrev0;
        double r0 = h0 / h;
        Tensor d10 = mul(1.0 / r0, sub(m0, m1));
        double phi1 = Math.expm1(-h);
        return sub(sub(mul(sigmaT / sigmaPrev0, x), mul(alphaT * phi1, m0)), mul(0.5 * (alphaT * phi1), d10));
    }

    /** Multistep DPM-Solver++(3M). */
    private Tensor thirdUpdate(Tensor x, List<Tensor> m, List<Double> tp, double t) {
        Tensor m2 = m.get(0), m1 = m.get(1), m0 = m.get(2);
        double lambdaPrev2 = ns.marginalLambda(tp.get(0)), lambdaPrev1 = ns.marginalLambda(tp.get(1));
        double lambdaPrev0 = ns.marginalLambda(tp.get(2)), lambdaT = ns.marginalLambda(t);
        double sigmaPrev0 = ns.marginalStd(tp.get(2)), sigmaT = ns.marginalStd(t);
        double alphaT = ns.marginalAlpha(t);
        double h1 = lambdaPrev1 - lambdaPrev2;
        double h0 = lambdaPrev0 - lambdaPrev1;
        double h = lambdaT - lambdaPrev0;
        double r0 = h0 / h, r1 = h1 / h;
        Tensor d10 = mul(1.0 / r0, sub(m0, m1));
        Tensor d11 = mul(1.0 / r1, sub(m1, m2));
        Tensor d1 = add(d10, mul(r0 / (r0 + r1), sub(d10, d11)));
        Tensor d2 = mul(1.0 / (r0 + r1), sub(d10, d11));
        double phi1 = Math.expm1(-h);
        double phi2 = phi1 / h + 1.0;
        double phi3 = phi2 / h - 0.5;
        return sub(add(sub(mul(sigmaT / sigmaPrev0, x), mul(alphaT * phi1, m0)), mul(alphaT * phi2, d1)), mul(alphaT * phi3, d2));
    }

    private Tensor update(Tensor x, List<Tensor> m, List<Double> tp, double t, int stepOrder) {
        return switch (stepOrder) {
            case 1 -> firstUpdate(x, tp.get(tp.size() - 1), t, m.get(m.size() - 1));
            case 2 -> secondUpdate(x, m, tp, t);
            case 3 -> thirdUpdate(x, m, tp, t);
            default -> throw new IllegalStateException("order " + stepOrder);
        };
    }

    /** The times from noise to data that the solver visits. */
    public double[] timeSteps() {
        return ns.timeSteps(skip, steps);
    }

    @Override
    public Tensor sample(Denoiser model, Tensor noise, NoiseSource noiseSource, boolean clipDenoised, Progress progress) {
        double[] ts = timeSteps();
        Tensor x = noise.clone();
        // The last `order` model values live across steps in buffers made outside any step scope.
        List<Tensor> modelPrev = new ArrayList<>();
        List<Double> tPrev = new ArrayList<>();
        tPrev.add(ts[0]);
        modelPrev.add(torch.empty_like(noise));
        try (Step s = Step.open(); InferenceMode g = new InferenceMode()) {
            modelPrev.get(0).copy_(dataPrediction(model, x, ts[0], clipDenoised));
        }
        // Warm-up: the first order - 1 steps with the orders 1, 2, ...
        for (int step = 1; step < order; step++) {
            double t = ts[step];
            Tensor buf = torch.empty_like(noise);
            int stepOrder = step;
            try (Step s = Step.open(); InferenceMode g = new InferenceMode()) {
                x.copy_(update(x, modelPrev, tPrev, t, stepOrder));
                buf.copy_(dataPrediction(model, x, t, clipDenoised));
            }
            tPrev.add(t);
            modelPrev.add(buf);
            progress.onStep(step, steps);
        }
        for (int step = order; step <= steps; step++) {
            double t = ts[step];
            int stepOrder = lowerOrderFinal && steps < 10 ? Math.min(order, steps + 1 - step) : order;
            if (ns.isDataEnd(t)) stepOrder = 1;
            try (Step s = Step.open(); InferenceMode g = new InferenceMode()) {
                x.copy_(update(x, modelPrev, tPrev, t, stepOrder));
                // shift the history by one; the oldest buffer takes the newest value
                Tensor oldest = modelPrev.remove(0);
                modelPrev.add(oldest);
                tPrev.remove(0);
                tPrev.add(t);
                if (step < steps) oldest.copy_(dataPrediction(model, x, t, clipDenoised));
            }
            progress.onStep(step, steps);
        }
        return x;
    }

    @Override
    public int steps() {
        return steps;
    }
}
