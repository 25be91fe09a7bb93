package dit4j.diffusion;

import static dit4j.runtime.TensorMath.div;
import static dit4j.runtime.TensorMath.mul;
import static dit4j.runtime.TensorMath.sub;

import dit4j.runtime.Tensors;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * The discrete-time schedule of LuChengTHU/dpm-solver, {@code NoiseScheduleVP('discrete', betas)},
 * in double precision: step n of N becomes the time t_n = (n + 1) / N, log alpha is interpolated
 * linearly between those points, and the model sees {@code (t - 1/N) * 1000}.
 *
 * <p>Quirk kept from the reference: where the half log-SNR falls below -5.1 (the tail of the
 * cosine schedule) the table is cut, and N becomes the shorter length, so the time grid and the
 * model's input times are those of the shorter table.
 */
public final class VpSchedule implements NoiseSchedule {
    private static final double CLIPPED_LAMBDA = -5.1;

    /** Length of the (possibly cut) table: the N of t_n = (n + 1) / N. */
    public final int totalN;
    /** Keypoints t_n, float32 values as the reference's {@code torch.linspace} makes them. */
    private final double[] tArray;
    private final double[] logAlpha;

    /** The model predicts x_0 ({@code model_type='x_start'}) rather than the noise. */
    private final boolean predictXstart;

    /** A noise-predicting model's schedule. */
    public VpSchedule(double[] betas) {
        this(betas, false);
    }

    public VpSchedule(double[] betas, boolean predictXstart) {
        this.predictXstart = predictXstart;
        int n = betas.length;
        double[] la = new double[n];
        double acc = 0;
        for (int i = 0; i < n; i++) {
            acc += Math.log(1 - betas[i]);
            la[i] = 0.5 * acc; // 0.5 * log(1 - betas).cumsum()
        }
        // numerical_clip_alpha: drop the trailing entries whose lambda is below -5.1
        int below = 0;
        for (double v : la) if (v - 0.5 * Math.log(1 - Math.exp(2 * v)) < CLIPPED_LAMBDA) below++;
        this.totalN = n - below;
        this.logAlpha = java.util.Arrays.copyOf(la, totalN);
        this.tArray = NoiseSchedule.linspace32(0, 1, totalN + 1);
        System.arraycopy(tArray, 1, tArray, 0, totalN); // linspace(0, 1, N + 1)[1:]
    }

    /** log alpha_t. */
    public double marginalLogMeanCoeff(double t) {
        return interpolate(t, tArray, logAlpha, totalN, false);
    }

    @Override
    public double marginalAlpha(double t) {
        return Math.exp(marginalLogMeanCoeff(t));
    }

    @Override
    public double marginalStd(double t) {
        return Math.sqrt(1 - Math.exp(2 * marginalLogMeanCoeff(t)));
    }

    /** lambda_t = log alpha_t - log sigma_t, the half log-SNR, as the reference computes it. */
    @Override
    public double marginalLambda(double t) {
        double lmc = marginalLogMeanCoeff(t);
        return lmc - 0.5 * Math.log(1 - Math.exp(2 * lmc));
    }

    /**
     * t for a half log-SNR. The reference computes log alpha from lambda in float32 (its zeros
     * tensor is float32) before interpolating, so that step is rounded to float here too.
     */
    @Override
    public double inverseLambda(double lamb) {
        float l = (float) lamb;
        float logAlphaF = (float) (-0.5f * logAddExp0((float) (-2f * l)));
        return interpolate(logAlphaF, logAlpha, tArray, totalN, true);
    }

    /**
     * {@code torch.logaddexp(0, a)} as torch 1.13 computes it in float32: max + log(1 + exp(-|a|)),
     * with log rather than log1p, so near t = 0 (a ~ -10) the sum 1 + exp(-|a|) is rounded to
     * float32 and the last time of the logSNR grid moves by ~1e-3 of itself (1/N becomes 0.0010032
     * for the cut cosine table's 1/996 = 0.0010040).
     */
    private static float logAddExp0(float a) {
        float m = Math.max(0f, a);
        float onePlus = 1f + (float) Math.exp(-Math.abs(a));
        return m + (float) Math.log(onePlus);
    }

    /**
     * The reference's {@code interpolate_fn}: piecewise linear through the keypoints, extended
     * beyond them by the outermost segments. {@code reversed} reads both tables back to front
     * (the reference flips them so that its x-axis ascends).
     */
    private static double interpolate(double x, double[] xs, double[] ys, int k, boolean reversed) {
        double[] xp = new double[k], yp = new double[k];
        for (int i = 0; i < k; i++) {
            xp[i] = xs[reversed ? k - 1 - i : i];
            yp[i] = ys[reversed ? k - 1 - i : i];
        }
        int j = 0;
        while (j < k - 2 && x > xp[j + 1]) j++;
        return yp[j] + (x - xp[j]) * (yp[j + 1] - yp[j]) / (xp[j + 1] - xp[j]);
    }

    /** T = 1. */
    @Override
    public double timeStart() {
        return 1.0;
    }

    /** t_0 = 1/N. */
    @Override
    public double timeEnd() {
        return 1.0 / totalN;
    }

    /**
     * The model's timestep for time t, {@code (t - 1/N) * 1000}, for a batch of {@code n}; in
     * float32 arithmetic when the reference's t is a float32 tensor.
     */
    @Override
    public Tensor modelInputTime(double t, long n, boolean float32) {
        double v = float32 ? (float) ((float) ((float) t - (float) (1.0 / totalN)) * 1000f) : (t - 1.0 / totalN) * 1000.0;
        float[] vals = new float[(int) n];
        java.util.Arrays.fill(vals, (float) v);
        return Tensors.floats(vals, n);
    }

    /**
     * x_0 = (x - sigma_t eps) / alpha_t. An x_0 model's output is used as it is: the reference
     * converts it to noise and back, which is the identity up to rounding.
     */
    @Override
    public Tensor dataPrediction(Tensor prediction, Tensor x, double t) {
        return predictXstart ? prediction : div(sub(x, mul(marginalStd(t), prediction)), marginalAlpha(t));
    }
}
