package dit4j.diffusion;

import static dit4j.runtime.TensorMath.add;
import static dit4j.runtime.TensorMath.cat;
import static dit4j.runtime.TensorMath.mul;
import static dit4j.runtime.TensorMath.sub;

import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Classifier-free guidance for any sampler, as DiT's and SiT's {@code forward_with_cfg} compute it
 * on a doubled batch (the conditional half first, the null-class half second, x repeated), with
 * two options: which leading output channels get guidance (3 is the official rule, 0 or less means
 * all) and a guidance interval: guidance only where {@code lo <= t <= hi} for the timestep the
 * model receives (DDPM/DDIM: the base schedule's step, DPM-Solver: the continuous (t - 1/N) * 1000,
 * flow: t in [0, 1]); elsewhere the conditional prediction is used for both halves (scale 1), and
 * a step where no row is guided runs the model on the conditional half only.
 */
public final class Guidance {
    private Guidance() {}

    /** The network with its labels: {@code model(x, t, y)}. */
    @FunctionalInterface
    public interface Model {
        Tensor apply(Tensor x, Tensor t, Tensor y);
    }

    /** Guidance everywhere: {@code lo = -inf, hi = +inf}. */
    public static Denoiser cfg(Model model, Tensor y, double scale, int channels) {
        return cfg(model, y, scale, channels, Double.NEGATIVE_INFINITY, Double.POSITIVE_INFINITY);
    }

    public static Denoiser cfg(Model model, Tensor y, double scale, int channels, double lo, double hi) {
        if (!(lo <= hi)) throw new IllegalArgumentException("guidance interval [" + lo + ", " + hi + "] is empty");
        boolean everywhere = lo == Double.NEGATIVE_INFINITY && hi == Double.POSITIVE_INFINITY;
        return (x, t) -> {
            long half = x.size(0) / 2;
            Tensor h = x.narrow(0, 0, half);
            Tensor inside = null;
            if (!everywhere) {
                Tensor tt = t.narrow(0, 0, half).to(ScalarType.Double);
                inside = tt.ge(new Scalar(lo)).logical_and(tt.le(new Scalar(hi)));
                if (!inside.any().item_bool()) {
                    // no row is guided at this step: the conditional half alone, half the work
                    Tensor cond = model.apply(h, t.narrow(0, 0, half), y.narrow(0, 0, half));
                    return cat(0, cond, cond);
                }
            }
            Tensor out = model.apply(cat(0, h, h), t, y);
            long outC = out.size(1);
            long ch = channels <= 0 ? outC : Math.min(channels, outC);
            Tensor eps = out.narrow(1, 0, ch), rest = out.narrow(1, ch, outC - ch);
            Tensor cond = eps.narrow(0, 0, half), uncond = eps.narrow(0, half, half);
            Tensor guided = add(uncond, mul(scale, sub(cond, uncond)));
            // per row: guided inside the interval, the conditional prediction outside it
            if (inside != null) guided = torch.where(inside.view(half, 1, 1, 1), guided, cond);
            Tensor both = cat(0, guided, guided);
            return ch == outC ? both : cat(1, both, rest);
        };
    }
}
