package dit4j.diffusion;

import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/** Ancestral sampling (DDPM): x_{t-1} = mean + sigma z, with no noise at the last step. */
public final class DdpmSampler implements Sampler {
    private final GaussianDiffusion diffusion;

    public DdpmSampler(GaussianDiffusion diffusion) {
        this.diffusion = diffusion;
    }

    /** One reverse step, the official {@code p_sample}. */
    public Tensor pSample(Denoiser model, Tensor x, Tensor t, NoiseSource noiseSource, boolean clipDenoised) {
        GaussianDiffusion.MeanVariance out = diffusion.pMeanVariance(model, x, t, clipDenoised);
        Tensor noise = noiseSource.randnLike(x);
        return out.mean().add(ReverseLoop.nonzeroMask(t, x).mul(torch.exp(out.logVariance().mul(new Scalar(0.5)))).mul(noise));
    }

    @Override
    public Tensor sample(Denoiser model, Tensor noise, NoiseSource noiseSource, boolean clipDenoised, Progress progress) {
        return ReverseLoop.run(diffusion.numTimesteps, noise, progress, (x, t) -> pSample(model, x, t, noiseSource, clipDenoised));
    }

    @Override
    public int steps() {
        return diffusion.numTimesteps;
    }
}
