package dit4j.flow;

import static dit4j.runtime.TensorMath.add;
import static dit4j.runtime.TensorMath.mul;

import dit4j.diffusion.NoiseSchedule;
import dit4j.runtime.Tensors;
import java.util.function.UnaryOperator;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * A flow model's path as the Gaussian schedule DPM-Solver and DDIM/DDPM step over: every SiT path
 * is x_t = alpha_t x1 + sigma_t x0 with x0 ~ N(0, I), so these samplers run on flow checkpoints
 * too. Their time runs from noise to data, so the schedule's time is tau = 1 - t (t SiT's time);
 * the model is fed t. The solver goes over SiT's ODE interval [t0, t1], which for a velocity model
 * on Linear or GVP reaches pure noise (alpha = 0) and the data (sigma = 0).
 */
public final class FlowSchedule implements NoiseSchedule {
    private final Transport transport;
    /** SiT's ODE sampling interval. */
    private final double t0, t1;

    public FlowSchedule(Transport transport) {
        this.transport = transport;
        double[] iv = transport.interval(true, false, "SBDM", 0.0);
        this.t0 = iv[0];
        this.t1 = iv[1];
    }

    /** f(t) for one SiT time, evaluated in float64 with the path's own formulas. */
    private static double at(UnaryOperator<Tensor> f, double t) {
        Tensor tt = torch.full(new long[] {1}, new Scalar(t), new TensorOptions(ScalarType.Double));
        return f.apply(tt).item_double();
    }

    @Override
    public double marginalAlpha(double tau) {
        return at(transport.path::alpha, 1 - tau);
    }

    @Override
    public double marginalStd(double tau) {
        return at(transport.path::sigma, 1 - tau);
    }

    /** tau for a half log-SNR lambda: the paths' closed-form inverses. */
    @Override
    public double inverseLambda(double lambda) {
        return switch (transport.path) {
            case LINEAR -> 1 / (1 + Math.exp(lambda));                      // t = sigmoid(lambda)
            case GVP -> 1 - 2 / Math.PI * Math.atan(Math.exp(lambda));       // t = (2 / pi) atan(e^lambda)
            case VP -> {
                // SiT's VP path in tau is the VP SDE with linear beta from 0.1 to 20: dpm-solver's inverse
                double b0 = 0.1, b1 = 20.0;
                double tmp = 2 * (b1 - b0) * logAddExp0(-2 * lambda);
                yield tmp / (Math.sqrt(b0 * b0 + tmp) + b0) / (b1 - b0);
            }
        };
    }

    private static double logAddExp0(double a) {
        return Math.max(0, a) + Math.log1p(Math.exp(-Math.abs(a)));
    }

    /** tau_T = 1 - t0. */
    @Override
    public double timeStart() {
        return 1 - t0;
    }

    /** tau_0 = 1 - t1: 0 where the interval reaches the data. */
    @Override
    public double timeEnd() {
        return 1 - t1;
    }

    /** SiT's t = 1 - tau, in float32 arithmetic when the grid is float32. */
    @Override
    public Tensor modelInputTime(double tau, long n, boolean float32) {
        float t = float32 ? (float) (1 - (float) tau) : (float) (1 - tau);
        float[] v = new float[(int) n];
        java.util.Arrays.fill(v, t);
        return Tensors.floats(v, n);
    }

    /**
     * x1 (the data) from the model's output at tau: for a velocity v = alpha' x1 + sigma' x0, x1 =
     * (sigma' x - sigma v) / (alpha sigma' - sigma alpha'), defined at pure noise too; for noise
     * eps, (x - sigma eps) / alpha; for a score s = -eps / sigma, (x + sigma^2 s) / alpha.
     */
    @Override
    public Tensor dataPrediction(Tensor out, Tensor x, double tau) {
        FlowPath p = transport.path;
        double t = 1 - tau;
        double a = at(p::alpha, t), da = at(p::dAlpha, t), s = at(p::sigma, t), ds = at(p::dSigma, t);
        return switch (transport.prediction) {
            case VELOCITY -> add(mul(ds / (a * ds - s * da), x), mul(-s / (a * ds - s * da), out));
            case NOISE -> add(mul(1 / a, x), mul(-s / a, out));
            case SCORE -> add(mul(1 / a, x), mul(s * s / a, out));
        };
    }

    /** tau = 0 when the interval reaches the data (t1 = 1, sigma = 0). */
    @Override
    public boolean isDataEnd(double tau) {
        return t1 == 1.0 && tau == 0.0;
    }
}
