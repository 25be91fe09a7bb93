package dit4j.diffusion;

import static dit4j.runtime.TensorMath.add;
import static dit4j.runtime.TensorMath.exp;
import static dit4j.runtime.TensorMath.mul;

import org.bytedeco.pytorch.Tensor;

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
        return add(out.mean(), mul(ReverseLoop.nonzeroMask(t, x), exp(mul(0.5, out.logVariance())), noise));
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
