package dit4j.diffusion;

import org.bytedeco.pytorch.Tensor;

/**
 * A reverse-process sampler. DDPM and DDIM are here; DPM-Solver or a flow-matching ODE would be
 * further implementations over the same model and noise interfaces.
 */
public interface Sampler {

    /** Called after each step with the number of steps done and the total. */
    @FunctionalInterface
    interface Progress {
        Progress NONE = (done, total) -> {};

        void onStep(int done, int total);
    }

    /**
     * Runs the full reverse process.
     *
     * @param model the denoiser, conditioning bound
     * @param noise x_T; not modified
     * @param noiseSource per-step noise
     * @param clipDenoised clamp the x_0 prediction to [-1, 1]
     * @return x_0, a new tensor
     */
    Tensor sample(Denoiser model, Tensor noise, NoiseSource noiseSource, boolean clipDenoised, Progress progress);

    /** Number of model evaluations one sample takes. */
    int steps();
}
