package dit4j.diffusion;

import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/** DDIM (Song et al.): deterministic at eta = 0, ancestral-like as eta grows to 1. */
public final class DdimSampler implements Sampler {
    private final GaussianDiffusion diffusion;
    private final double eta;

    public DdimSampler(GaussianDiffusion diffusion, double eta) {
        if (eta < 0) throw new IllegalArgumentException("--eta must be non-negative, got " + eta);
        this.diffusion = diffusion;
        this.eta = eta;
    }

    /** One reverse step, the official {@code ddim_sample}. */
    public Tensor ddimSample(Denoiser model, Tensor x, Tensor t, NoiseSource noiseSource, boolean clipDenoised) {
        GaussianDiffusion.MeanVariance out = diffusion.pMeanVariance(model, x, t, clipDenoised);
        // Re-derive eps from the (possibly clipped) x_0 prediction.
        Tensor eps = diffusion.predictEpsFromXstart(x, t, out.predXstart());
        Tensor alphaBar = diffusion.alphaBar(t, x);
        Tensor alphaBarPrev = diffusion.alphaBarPrev(t, x);
        Scalar one = new Scalar(1.0);
        Tensor sigma = torch.sqrt(alphaBarPrev.neg().add(one).div(alphaBar.neg().add(one)))
                .mul(new Scalar(eta))
                .mul(torch.sqrt(alphaBar.div(alphaBarPrev).neg().add(one)));
        Tensor noise = noiseSource.randnLike(x);
        Tensor meanPred = out.predXstart().mul(torch.sqrt(alphaBarPrev))
                .add(torch.sqrt(alphaBarPrev.neg().add(one).sub(sigma.mul(sigma))).mul(eps));
        return meanPred.add(ReverseLoop.nonzeroMask(t, x).mul(sigma).mul(noise));
    }

    @Override
    public Tensor sample(Denoiser model, Tensor noise, NoiseSource noiseSource, boolean clipDenoised, Progress progress) {
        return ReverseLoop.run(diffusion.numTimesteps, noise, progress, (x, t) -> ddimSample(model, x, t, noiseSource, clipDenoised));
    }

    @Override
    public int steps() {
        return diffusion.numTimesteps;
    }
}
