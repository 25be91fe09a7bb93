package dit4j.diffusion;

import org.bytedeco.pytorch.Tensor;

/** The network the diffusion calls: {@code model(x_t, t)} with the conditioning already bound. */
@FunctionalInterface
public interface Denoiser {
    /**
     * @param x noisy inputs (N, C, H, W)
     * @param t timesteps of the base schedule (N), int64
     * @return (N, C or 2C, H, W): the prediction, and the variance values when the variance is learned
     */
    Tensor apply(Tensor x, Tensor t);
}
