package dit4j.flow;

import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * How flow training draws its times in the training interval [t0, t1]: uniformly, as SiT does, or
 * logit-normal, {@code t = sigmoid(m + s * n)} with n standard normal (Esser et al. 2024, SD3's
 * "rf/lognorm"), which spends the steps on the middle times where the velocity is hardest to learn.
 */
public record TimeSampling(boolean logitNormal, double mean, double std) {
    public static final TimeSampling UNIFORM = new TimeSampling(false, 0, 1);

    /** {@code uniform}, {@code logit-normal} (m 0, s 1) or {@code logit-normal:M,S}. */
    public static TimeSampling parse(String s) {
        if (s.equals("uniform")) return UNIFORM;
        if (s.equals("logit-normal")) return new TimeSampling(true, 0, 1);
        if (s.startsWith("logit-normal:")) {
            String[] ms = s.substring("logit-normal:".length()).split(",");
            try {
                if (ms.length == 2) {
                    double m = Double.parseDouble(ms[0].trim()), sd = Double.parseDouble(ms[1].trim());
                    if (Double.isFinite(m) && sd > 0 && Double.isFinite(sd)) return new TimeSampling(true, m, sd);
                }
            } catch (NumberFormatException e) {
                // falls through to the error
            }
        }
        throw new IllegalArgumentException("time sampling must be uniform, logit-normal or logit-normal:M,S (S > 0), got '" + s + "'");
    }

    /** n times in [t0, t1] from the generator (one draw of n values, after x0's). */
    public Tensor draw(long n, Generator g, double[] interval) {
        TensorOptions f = new TensorOptions(ScalarType.Float);
        Tensor u = logitNormal
                ? torch.sigmoid(torch.randn(new long[] {n}, new GeneratorOptional(g), f).mul(new Scalar(std)).add(new Scalar(mean)))
                : torch.rand(new long[] {n}, new GeneratorOptional(g), f);
        return u.mul(new Scalar(interval[1] - interval[0])).add(new Scalar(interval[0]));
    }

    @Override
    public String toString() {
        return logitNormal ? (mean == 0 && std == 1 ? "logit-normal" : "logit-normal:" + mean + "," + std) : "uniform";
    }
}
