package dit4j.diffusion;

import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/** The likelihood helpers of {@code diffusion_utils.py}. */
public final class DiffusionUtils {
    private DiffusionUtils() {}

    private static Scalar s(double v) {
        return new Scalar(v);
    }

    /** KL divergence between two Gaussians given by mean and log-variance, elementwise. */
    public static Tensor normalKl(Tensor mean1, Tensor logvar1, Tensor mean2, Tensor logvar2) {
        Tensor diff = mean1.sub(mean2);
        return logvar2.add(s(-1.0))
                .sub(logvar1)
                .add(torch.exp(logvar1.sub(logvar2)))
                .add(diff.mul(diff).mul(torch.exp(logvar2.neg())))
                .mul(s(0.5));
    }

    /** A fast approximation of the standard normal CDF. */
    public static Tensor approxStandardNormalCdf(Tensor x) {
        Tensor inner = x.add(torch.pow(x, s(3)).mul(s(0.044715))).mul(s(Math.sqrt(2.0 / Math.PI)));
        return torch.tanh(inner).add(s(1.0)).mul(s(0.5));
    }

    /**
     * Log-likelihood of a Gaussian discretised to 256 bins on [-1, 1], with open-ended edge bins.
     *
     * @param x targets in [-1, 1]
     * @param means Gaussian means
     * @param logScales Gaussian log standard deviations
     */
    public static Tensor discretizedGaussianLogLikelihood(Tensor x, Tensor means, Tensor logScales) {
        Tensor centered = x.sub(means);
        Tensor invStdv = torch.exp(logScales.neg());
        Tensor cdfPlus = approxStandardNormalCdf(invStdv.mul(centered.add(s(1.0 / 255.0))));
        Tensor cdfMin = approxStandardNormalCdf(invStdv.mul(centered.sub(s(1.0 / 255.0))));
        ScalarOptional tiny = new ScalarOptional(s(1e-12));
        Tensor logCdfPlus = torch.log(torch.clamp(cdfPlus, tiny));
        Tensor logOneMinusCdfMin = torch.log(torch.clamp(cdfMin.neg().add(s(1.0)), tiny));
        Tensor logCdfDelta = torch.log(torch.clamp(cdfPlus.sub(cdfMin), tiny));
        return torch.where(x.lt(s(-0.999)), logCdfPlus, torch.where(x.gt(s(0.999)), logOneMinusCdfMin, logCdfDelta));
    }

    /** Mean over all non-batch dimensions. */
    public static Tensor meanFlat(Tensor t) {
        return t.flatten(1, -1).mean(1);
    }
}
