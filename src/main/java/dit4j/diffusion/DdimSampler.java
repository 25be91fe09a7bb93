package dit4j.diffusion;

import static dit4j.runtime.TensorMath.add;
import static dit4j.runtime.TensorMath.div;
import static dit4j.runtime.TensorMath.mul;
import static dit4j.runtime.TensorMath.oneMinus;
import static dit4j.runtime.TensorMath.sqrt;
import static dit4j.runtime.TensorMath.square;
import static dit4j.runtime.TensorMath.sub;

import org.bytedeco.pytorch.Tensor;

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
        Tensor sigma = mul(mul(eta, sqrt(div(oneMinus(alphaBarPrev), oneMinus(alphaBar)))), sqrt(oneMinus(div(alphaBar, alphaBarPrev))));
        Tensor noise = noiseSource.randnLike(x);
        Tensor meanPred = add(mul(out.predXstart(), sqrt(alphaBarPrev)), mul(sqrt(sub(oneMinus(alphaBarPrev), square(sigma))), eps));
        return add(meanPred, mul(ReverseLoop.nonzeroMask(t, x), sigma, noise));
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
