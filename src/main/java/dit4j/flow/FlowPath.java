package dit4j.flow;

import static dit4j.runtime.TensorMath.add;
import static dit4j.runtime.TensorMath.div;
import static dit4j.runtime.TensorMath.exp;
import static dit4j.runtime.TensorMath.mul;
import static dit4j.runtime.TensorMath.oneMinus;
import static dit4j.runtime.TensorMath.sqrt;
import static dit4j.runtime.TensorMath.square;
import static dit4j.runtime.TensorMath.sub;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * The interpolants of SiT's {@code transport/path.py}: x_t = alpha_t x1 + sigma_t x0, with x0 the
 * noise and x1 the data, so time runs from noise (t = 0) to data (t = 1). Every method takes t
 * already shaped to broadcast against x (N, 1, 1, 1), as {@code expand_t_like_x} makes it.
 */
public enum FlowPath {
    /** {@code ICPlan}: alpha = t, sigma = 1 - t. */
    LINEAR,
    /** {@code GVPCPlan}: alpha = sin(pi t / 2), sigma = cos(pi t / 2). */
    GVP,
    /** {@code VPCPlan}: the VP SDE with beta from 0.1 to 20, time reversed. */
    VP;

    private static final double SIGMA_MIN = 0.1, SIGMA_MAX = 20.0;

    public static FlowPath parse(String s) {
        return switch (s) {
            case "Linear", "linear", "LINEAR" -> LINEAR;
            case "GVP", "gvp" -> GVP;
            case "VP", "vp" -> VP;
            default -> throw new IllegalArgumentException("unknown flow path '" + s + "': expected Linear, GVP or VP");
        };
    }

    /** SiT's name. */
    public String reference() {
        return this == LINEAR ? "Linear" : name();
    }

    /** -0.25 (1 - t)^2 (max - min) - 0.5 (1 - t) min. */
    private static Tensor logMeanCoeff(Tensor t) {
        return sub(mul(SIGMA_MAX - SIGMA_MIN, mul(-0.25, square(oneMinus(t)))), mul(SIGMA_MIN, mul(0.5, oneMinus(t))));
    }

    /** 0.5 (1 - t) (max - min) + 0.5 min. */
    private static Tensor dLogMeanCoeff(Tensor t) {
        return add(mul(SIGMA_MAX - SIGMA_MIN, mul(0.5, oneMinus(t))), 0.5 * SIGMA_MIN);
    }

    private static Tensor halfPi(Tensor t) {
        return div(mul(Math.PI, t), 2.0); // t * np.pi / 2
    }

    public Tensor alpha(Tensor t) {
        return switch (this) {
            case LINEAR -> t;
            case GVP -> torch.sin(halfPi(t));
            case VP -> exp(logMeanCoeff(t));
        };
    }

    public Tensor dAlpha(Tensor t) {
        return switch (this) {
            case LINEAR -> torch.ones_like(t);
            case GVP -> mul(Math.PI / 2, torch.cos(halfPi(t)));
            case VP -> mul(alpha(t), dLogMeanCoeff(t));
        };
    }

    public Tensor sigma(Tensor t) {
        return switch (this) {
            case LINEAR -> oneMinus(t);
            case GVP -> torch.cos(halfPi(t));
            case VP -> sqrt(oneMinus(exp(mul(2.0, logMeanCoeff(t)))));
        };
    }

    public Tensor dSigma(Tensor t) {
        return switch (this) {
            case LINEAR -> torch.ones_like(t).neg();
            case GVP -> mul(-Math.PI / 2, torch.sin(halfPi(t)));
            // exp(2 lmc) * (2 dlmc) / (-2 sigma)
            case VP -> div(mul(exp(mul(2.0, logMeanCoeff(t))), mul(2.0, dLogMeanCoeff(t))), mul(-2.0, sigma(t)));
        };
    }

    /** d alpha / alpha, in the numerically stable forms of the reference. */
    public Tensor dAlphaAlphaRatio(Tensor t) {
        return switch (this) {
            case LINEAR -> t.reciprocal();
            case GVP -> torch.reciprocal(mul(2.0, torch.tan(halfPi(t)))).mul(new org.bytedeco.pytorch.Scalar(Math.PI));
            case VP -> dLogMeanCoeff(t);
        };
    }

    /** {@code compute_drift}: the SDE's drift mean (times x) and variance, score parametrisation. */
    public Tensor[] drift(Tensor x, Tensor t) {
        if (this == VP) {
            Tensor betaT = add(mul(SIGMA_MAX - SIGMA_MIN, oneMinus(t)), SIGMA_MIN);
            return new Tensor[] {mul(mul(-0.5, betaT), x), div(betaT, 2.0)};
        }
        Tensor ratio = dAlphaAlphaRatio(t);
        Tensor sigmaT = sigma(t);
        Tensor driftVar = sub(mul(ratio, square(sigmaT)), mul(sigmaT, dSigma(t)));
        return new Tensor[] {mul(ratio, x).neg(), driftVar};
    }

    /** {@code compute_diffusion} with SiT's form names (its misspelt "inccreasing-decreasing" included). */
    public Tensor diffusion(Tensor x, Tensor t, String form, double norm) {
        return switch (form) {
            // SiT returns the float itself here, which its samplers then pass to th.sqrt and fail on
            case "constant" -> torch.full_like(t, new org.bytedeco.pytorch.Scalar(norm));
            case "SBDM" -> mul(norm, drift(x, t)[1]);
            case "sigma" -> mul(norm, sigma(t));
            case "linear" -> mul(norm, oneMinus(t));
            case "decreasing" -> mul(0.25, square(add(mul(norm, torch.cos(mul(Math.PI, t))), 1.0)));
            case "inccreasing-decreasing" -> mul(norm, square(torch.sin(mul(Math.PI, t))));
            default -> throw new IllegalArgumentException("unknown diffusion form '" + form
                    + "': expected constant, SBDM, sigma, linear, decreasing or inccreasing-decreasing (SiT's spelling)");
        };
    }

    /** {@code get_score_from_velocity}. */
    public Tensor scoreFromVelocity(Tensor velocity, Tensor x, Tensor t) {
        Tensor alphaT = alpha(t), sigmaT = sigma(t);
        Tensor reverseAlphaRatio = div(alphaT, dAlpha(t));
        Tensor var = sub(square(sigmaT), mul(mul(reverseAlphaRatio, dSigma(t)), sigmaT));
        return div(sub(mul(reverseAlphaRatio, velocity), x), var);
    }

    /** x_t and the target velocity u_t = d alpha x1 + d sigma x0 ({@code plan}). */
    public Tensor[] plan(Tensor t, Tensor x0, Tensor x1) {
        Tensor xt = add(mul(alpha(t), x1), mul(sigma(t), x0));
        Tensor ut = add(mul(dAlpha(t), x1), mul(dSigma(t), x0));
        return new Tensor[] {xt, ut};
    }
}
