package dit4j.diffusion;

import static dit4j.runtime.TensorMath.add;
import static dit4j.runtime.TensorMath.clampMin;
import static dit4j.runtime.TensorMath.log;
import static dit4j.runtime.TensorMath.oneMinus;
import static dit4j.runtime.TensorMath.scalar;
import static dit4j.runtime.TensorMath.exp;
import static dit4j.runtime.TensorMath.mul;
import static dit4j.runtime.TensorMath.square;
import static dit4j.runtime.TensorMath.sub;
import static dit4j.runtime.TensorMath.tanh;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/** The likelihood helpers of {@code diffusion_utils.py}. */
public final class DiffusionUtils {
    private DiffusionUtils() {}

    /** KL divergence between two Gaussians given by mean and log-variance, elementwise. */
    public static Tensor normalKl(Tensor mean1, Tensor logvar1, Tensor mean2, Tensor logvar2) {
        // 0.5 * (-1 + logvar2 - logvar1 + exp(logvar1 - logvar2) + (mean1 - mean2)^2 * exp(-logvar2))
        return mul(0.5, add(add(sub(add(logvar2, -1.0), logvar1), exp(sub(logvar1, logvar2))), mul(square(sub(mean1, mean2)), exp(logvar2.neg()))));
    }

    /** A fast approximation of the standard normal CDF: 0.5 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3))). */
    public static Tensor approxStandardNormalCdf(Tensor x) {
        return mul(0.5, add(tanh(mul(Math.sqrt(2.0 / Math.PI), add(x, mul(0.044715, torch.pow(x, scalar(3)))))), 1.0));
    }

    /**
     * Log-likelihood of a Gaussian discretised to 256 bins on [-1, 1], with open-ended edge bins.
     *
     * @param x targets in [-1, 1]
     * @param means Gaussian means
     * @param logScales Gaussian log standard deviations
     */
    public static Tensor discretizedGaussianLogLikelihood(Tensor x, Tensor means, Tensor logScales) {
        Tensor centered = sub(x, means);
        Tensor invStdv = exp(logScales.neg());
        Tensor cdfPlus = approxStandardNormalCdf(mul(invStdv, add(centered, 1.0 / 255.0)));
        Tensor cdfMin = approxStandardNormalCdf(mul(invStdv, sub(centered, 1.0 / 255.0)));
        Tensor logCdfPlus = log(clampMin(cdfPlus, 1e-12));
        Tensor logOneMinusCdfMin = log(clampMin(oneMinus(cdfMin), 1e-12));
        Tensor logCdfDelta = log(clampMin(sub(cdfPlus, cdfMin), 1e-12));
        return torch.where(x.lt(scalar(-0.999)), logCdfPlus, torch.where(x.gt(scalar(0.999)), logOneMinusCdfMin, logCdfDelta));
    }

    /** Mean over all non-batch dimensions. */
    public static Tensor meanFlat(Tensor t) {
        return t.flatten(1, -1).mean(1);
    }
}
