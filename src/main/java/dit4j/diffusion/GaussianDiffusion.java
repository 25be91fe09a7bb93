package dit4j.diffusion;

import static dit4j.diffusion.DiffusionUtils.discretizedGaussianLogLikelihood;
import static dit4j.diffusion.DiffusionUtils.meanFlat;
import static dit4j.diffusion.DiffusionUtils.normalKl;
import static dit4j.runtime.TensorMath.add;
import static dit4j.runtime.TensorMath.clamp;
import static dit4j.runtime.TensorMath.cat;
import static dit4j.runtime.TensorMath.div;
import static dit4j.runtime.TensorMath.exp;
import static dit4j.runtime.TensorMath.mul;
import static dit4j.runtime.TensorMath.oneMinus;
import static dit4j.runtime.TensorMath.scalar;
import static dit4j.runtime.TensorMath.split;
import static dit4j.runtime.TensorMath.square;
import static dit4j.runtime.TensorMath.sub;

import dit4j.runtime.Tensors;
import java.util.Arrays;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorIndex;
import org.bytedeco.pytorch.TensorIndexVector;
import org.bytedeco.pytorch.global.torch;

/**
 * The Gaussian diffusion of the official code ({@code gaussian_diffusion.py} with {@code respace.py}):
 * schedule tables in float64, forward noising, the posterior, the model's reverse step and the
 * training losses.
 *
 * <p>A respaced diffusion keeps a subset of the base timesteps; its betas are recomputed from the
 * kept alpha-bars and the model is always called with the original timestep numbers.
 */
public final class GaussianDiffusion {

    /** What the network predicts. */
    public enum ModelMeanType { START_X, EPSILON }

    /** How the reverse-step variance is chosen. LEARNED is treated as LEARNED_RANGE, as upstream does. */
    public enum ModelVarType { LEARNED, FIXED_SMALL, FIXED_LARGE, LEARNED_RANGE;
        public boolean learned() {
            return this == LEARNED || this == LEARNED_RANGE;
        }
    }

    public enum LossType { MSE, RESCALED_MSE, KL, RESCALED_KL;
        public boolean isVb() {
            return this == KL || this == RESCALED_KL;
        }
    }

    /** p(x_{t-1} | x_t): mean, variance, log-variance and the x_0 prediction. */
    public record MeanVariance(Tensor mean, Tensor variance, Tensor logVariance, Tensor predXstart) {}

    /** q(x_{t-1} | x_t, x_0): the true posterior, given the true x_0. */
    public record Posterior(Tensor mean, Tensor variance, Tensor logVariance) {}

    /** Per-sample loss terms; {@code vb} is null when the variance is not learned. */
    public record Losses(Tensor loss, Tensor mse, Tensor vb) {}

    public final ModelMeanType modelMeanType;
    public final ModelVarType modelVarType;
    public final LossType lossType;
    public final int numTimesteps;
    /** Original timestep of each index of this (possibly respaced) schedule. */
    public final long[] timestepMap;
    public final int originalNumSteps;

    final double[] betas;
    final double[] alphasCumprod;
    final double[] alphasCumprodPrev;
    final double[] sqrtAlphasCumprod;
    final double[] sqrtOneMinusAlphasCumprod;
    final double[] sqrtRecipAlphasCumprod;
    final double[] sqrtRecipm1AlphasCumprod;
    final double[] posteriorVariance;
    final double[] posteriorLogVarianceClipped;
    final double[] posteriorMeanCoef1;
    final double[] posteriorMeanCoef2;
    private final double[] logBetas;
    private final double[] fixedLargeVariance;
    private final double[] fixedLargeLogVariance;
    private final boolean identityMap;

    /**
     * @param baseBetas the full schedule, e.g. {@link BetaSchedule#named}
     * @param useTimesteps ascending base timesteps to keep ({@link Respacing#spaceTimesteps})
     */
    public GaussianDiffusion(double[] baseBetas, long[] useTimesteps, ModelMeanType meanType, ModelVarType varType, LossType lossType) {
        this.modelMeanType = meanType;
        this.modelVarType = varType;
        this.lossType = lossType;
        this.originalNumSteps = baseBetas.length;
        this.timestepMap = useTimesteps.clone();
        this.betas = respacedBetas(baseBetas, useTimesteps);
        this.identityMap = useTimesteps.length == baseBetas.length;
        int n = betas.length;
        this.numTimesteps = n;
        for (double b : betas) {
            if (!(b > 0 && b <= 1)) throw new IllegalArgumentException("betas must be in (0, 1], got " + b);
        }
        alphasCumprod = new double[n];
        double acc = 1.0;
        for (int i = 0; i < n; i++) {
            acc *= 1.0 - betas[i];
            alphasCumprod[i] = acc;
        }
        alphasCumprodPrev = new double[n];
        for (int i = 0; i < n; i++) {
            alphasCumprodPrev[i] = i == 0 ? 1.0 : alphasCumprod[i - 1];
        }
        sqrtAlphasCumprod = map(alphasCumprod, Math::sqrt);
        sqrtOneMinusAlphasCumprod = map(alphasCumprod, a -> Math.sqrt(1.0 - a));
        sqrtRecipAlphasCumprod = map(alphasCumprod, a -> Math.sqrt(1.0 / a));
        sqrtRecipm1AlphasCumprod = map(alphasCumprod, a -> Math.sqrt(1.0 / a - 1));
        posteriorVariance = new double[n];
        posteriorMeanCoef1 = new double[n];
        posteriorMeanCoef2 = new double[n];
        for (int i = 0; i < n; i++) {
            posteriorVariance[i] = betas[i] * (1.0 - alphasCumprodPrev[i]) / (1.0 - alphasCumprod[i]);
            posteriorMeanCoef1[i] = betas[i] * Math.sqrt(alphasCumprodPrev[i]) / (1.0 - alphasCumprod[i]);
            posteriorMeanCoef2[i] = (1.0 - alphasCumprodPrev[i]) * Math.sqrt(1.0 - betas[i]) / (1.0 - alphasCumprod[i]);
        }
        // The posterior variance is 0 at t = 0, so its log is clipped to the value at t = 1.
        posteriorLogVarianceClipped = new double[n];
        for (int i = 0; i < n; i++) {
            double v = n > 1 ? (i == 0 ? posteriorVariance[1] : posteriorVariance[i]) : betas[0];
            posteriorLogVarianceClipped[i] = Math.log(v);
        }
        logBetas = map(betas, Math::log);
        fixedLargeVariance = betas.clone();
        if (n > 1) fixedLargeVariance[0] = posteriorVariance[1];
        fixedLargeLogVariance = map(fixedLargeVariance, Math::log);
    }

    private static double[] respacedBetas(double[] baseBetas, long[] use) {
        if (use.length == 0) throw new IllegalArgumentException("a respaced schedule needs at least one timestep");
        double[] out = new double[use.length];
        double last = 1.0, acc = 1.0;
        int k = 0;
        for (int i = 0; i < baseBetas.length && k < use.length; i++) {
            acc *= 1.0 - baseBetas[i];
            if (i == use[k]) {
                out[k++] = 1 - acc / last;
                last = acc;
            }
        }
        if (k != use.length) throw new IllegalArgumentException("respaced timesteps " + Arrays.toString(use) + " do not fit a schedule of " + baseBetas.length);
        return out;
    }

    private static double[] map(double[] a, java.util.function.DoubleUnaryOperator f) {
        double[] out = new double[a.length];
        for (int i = 0; i < a.length; i++) out[i] = f.applyAsDouble(a[i]);
        return out;
    }

    // ---------------------------------------------------------------- tables

    /** {@code arr[t]} as float32, shaped (N, 1, 1, ...) to broadcast against {@code like}. */
    Tensor extract(double[] arr, Tensor t, Tensor like) {
        long[] shape = new long[(int) like.dim()];
        Arrays.fill(shape, 1);
        shape[0] = t.size(0);
        // Indexed on t's device: reading t back to the host would wait for the device at every lookup.
        if (!t.device().is_cpu()) return indexed(arr, t).view(shape);
        long[] idx = Tensors.toLongs(t);
        float[] v = new float[idx.length];
        for (int i = 0; i < idx.length; i++) {
            if (idx[i] < 0 || idx[i] >= arr.length) throw new IllegalArgumentException("timestep " + idx[i] + " outside [0, " + arr.length + ")");
            v[i] = (float) arr[(int) idx[i]];
        }
        Tensor out = Tensors.floats(v, shape);
        return dit4j.runtime.Devices.to(out, like.device());
    }

    /** The base-schedule timesteps the model sees for indices of this schedule. */
    public Tensor mapTimesteps(Tensor t) {
        if (identityMap) return t;
        if (!t.device().is_cpu()) return indexed(Tensors.longs(timestepMap), t);
        long[] idx = Tensors.toLongs(t);
        long[] mapped = new long[idx.length];
        for (int i = 0; i < idx.length; i++) mapped[i] = timestepMap[(int) idx[i]];
        return Tensors.longs(mapped);
    }

    /** {@code arr[t]} as float32, looked up on t's device (what {@link #extract} does off the CPU). */
    static Tensor indexed(double[] arr, Tensor t) {
        float[] table = new float[arr.length];
        for (int i = 0; i < table.length; i++) table[i] = (float) arr[i];
        return indexed(Tensors.floats(table, table.length), t);
    }

    static Tensor indexed(Tensor table, Tensor t) {
        return table.to(t.device(), table.scalar_type()).index(new TensorIndexVector(new TensorIndex(t)));
    }

    // ---------------------------------------------------------------- forward process

    /** Sample from q(x_t | x_0): {@code sqrt(abar) x_0 + sqrt(1 - abar) noise}. */
    public Tensor qSample(Tensor xStart, Tensor t, Tensor noise) {
        return add(mul(extract(sqrtAlphasCumprod, t, xStart), xStart), mul(extract(sqrtOneMinusAlphasCumprod, t, xStart), noise));
    }

    /** q(x_{t-1} | x_t, x_0): mean, variance and clipped log-variance. */
    public Posterior qPosteriorMeanVariance(Tensor xStart, Tensor xT, Tensor t) {
        Tensor mean = add(mul(extract(posteriorMeanCoef1, t, xT), xStart), mul(extract(posteriorMeanCoef2, t, xT), xT));
        return new Posterior(mean, extract(posteriorVariance, t, xT), extract(posteriorLogVarianceClipped, t, xT));
    }

    // ---------------------------------------------------------------- reverse process

    /** Runs the model on (x, t) and returns p(x_{t-1} | x_t). */
    public MeanVariance pMeanVariance(Denoiser model, Tensor x, Tensor t, boolean clipDenoised) {
        return pMeanVarianceFromOutput(model.apply(x, mapTimesteps(t)), x, t, clipDenoised);
    }

    /** p(x_{t-1} | x_t) from an already computed model output. */
    public MeanVariance pMeanVarianceFromOutput(Tensor modelOutput, Tensor x, Tensor t, boolean clipDenoised) {
        long c = x.size(1);
        Tensor variance, logVariance;
        if (modelVarType.learned()) {
            if (modelOutput.size(1) != 2 * c) {
                throw new IllegalArgumentException("a learned-variance diffusion needs " + 2 * c + " model output channels, got " + modelOutput.size(1));
            }
            Tensor[] parts = split(modelOutput, c, 1);
            modelOutput = parts[0];
            Tensor minLog = extract(posteriorLogVarianceClipped, t, x);
            Tensor maxLog = extract(logBetas, t, x);
            // The model's values in [-1, 1] interpolate between the two extreme variances.
            Tensor frac = div(add(parts[1], 1.0), 2.0);
            logVariance = add(mul(frac, maxLog), mul(oneMinus(frac), minLog));
            variance = exp(logVariance);
        } else {
            boolean large = modelVarType == ModelVarType.FIXED_LARGE;
            variance = extract(large ? fixedLargeVariance : posteriorVariance, t, x).expand(x.sizes()).contiguous();
            logVariance = extract(large ? fixedLargeLogVariance : posteriorLogVarianceClipped, t, x).expand(x.sizes()).contiguous();
        }
        Tensor predXstart = modelMeanType == ModelMeanType.START_X ? modelOutput : predictXstartFromEps(x, t, modelOutput);
        if (clipDenoised) predXstart = clamp(predXstart, -1, 1);
        Tensor mean = qPosteriorMeanVariance(predXstart, x, t).mean();
        return new MeanVariance(mean, variance, logVariance, predXstart);
    }

    public Tensor predictXstartFromEps(Tensor xT, Tensor t, Tensor eps) {
        return sub(mul(extract(sqrtRecipAlphasCumprod, t, xT), xT), mul(extract(sqrtRecipm1AlphasCumprod, t, xT), eps));
    }

    public Tensor predictEpsFromXstart(Tensor xT, Tensor t, Tensor predXstart) {
        return div(sub(mul(extract(sqrtRecipAlphasCumprod, t, xT), xT), predXstart), extract(sqrtRecipm1AlphasCumprod, t, xT));
    }

    /** alpha-bar at t and at the previous kept step, for samplers that need them. */
    public Tensor alphaBar(Tensor t, Tensor like) {
        return extract(alphasCumprod, t, like);
    }

    public Tensor alphaBarPrev(Tensor t, Tensor like) {
        return extract(alphasCumprodPrev, t, like);
    }

    // ---------------------------------------------------------------- losses

    /**
     * The variational-bound term in bits: KL(q(x_{t-1}|x_t,x_0) || p(x_{t-1}|x_t)) for t > 0 and
     * the discretised decoder NLL at t = 0.
     */
    public Tensor vbTermsBpd(Tensor modelOutput, Tensor xStart, Tensor xT, Tensor t, boolean clipDenoised) {
        Posterior truth = qPosteriorMeanVariance(xStart, xT, t);
        MeanVariance out = pMeanVarianceFromOutput(modelOutput, xT, t, clipDenoised);
        Tensor kl = div(meanFlat(normalKl(truth.mean(), truth.logVariance(), out.mean(), out.logVariance())), Math.log(2.0));
        Tensor decoderNll = div(meanFlat(discretizedGaussianLogLikelihood(xStart, out.mean(), mul(0.5, out.logVariance())).neg()), Math.log(2.0));
        return torch.where(t.eq(scalar(0)), decoderNll, kl);
    }

    /**
     * The training loss for one timestep per sample: MSE on the prediction, plus (with a learned
     * variance) the VB term, computed with the mean prediction detached so that the VB term only
     * trains the variance.
     *
     * @param t indices into this schedule (N)
     * @param noise the noise that makes x_t from x_start
     */
    public Losses trainingLosses(Denoiser model, Tensor xStart, Tensor t, Tensor noise) {
        Tensor xT = qSample(xStart, t, noise);
        if (lossType.isVb()) {
            Tensor vb = vbTermsBpd(model.apply(xT, mapTimesteps(t)), xStart, xT, t, false);
            if (lossType == LossType.RESCALED_KL) vb = mul(numTimesteps, vb);
            return new Losses(vb, null, vb);
        }
        Tensor modelOutput = model.apply(xT, mapTimesteps(t));
        Tensor vb = null;
        if (modelVarType.learned()) {
            long c = xT.size(1);
            Tensor[] parts = split(modelOutput, c, 1);
            modelOutput = parts[0];
            Tensor frozen = cat(1, modelOutput.detach(), parts[1]);
            vb = vbTermsBpd(frozen, xStart, xT, t, false);
            if (lossType == LossType.RESCALED_MSE) vb = mul(numTimesteps / 1000.0, vb);
        }
        Tensor target = modelMeanType == ModelMeanType.START_X ? xStart : noise;
        Tensor mse = meanFlat(square(sub(target, modelOutput)));
        return new Losses(vb == null ? mse : mse.add(vb), mse, vb);
    }
}
