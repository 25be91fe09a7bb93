package dit4j.vae;

import dit4j.runtime.Step;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * The KL-regularised autoencoder of latent diffusion (diffusers' {@code AutoencoderKL}, the
 * Stable Diffusion VAE): images in [-1, 1] to a diagonal Gaussian over latents 8x smaller with 4
 * channels, and latents back to images. Latents here are raw; DiT works on
 * {@code latent * scalingFactor}.
 *
 * <p>Like the DiT, every submodule is held by a Java field (libtorch calls back into Java peers).
 */
public final class AutoencoderKL extends Module {
    public final VaeConfig config;
    final Encoder encoder;
    final Decoder decoder;
    final Layers.Conv2d quantConv;
    final Layers.Conv2d postQuantConv;

    public AutoencoderKL(VaeConfig config) {
        this.config = config;
        encoder = register_module("encoder", new Encoder(config));
        decoder = register_module("decoder", new Decoder(config));
        int l = config.latentChannels();
        quantConv = config.useQuantConv() ? register_module("quant_conv", new Layers.Conv2d(2 * l, 2 * l, 1, 1, 0)) : null;
        postQuantConv = config.usePostQuantConv() ? register_module("post_quant_conv", new Layers.Conv2d(l, l, 1, 1, 0)) : null;
    }

    /**
     * Random weights (He-scaled normals, unit norms): a real network of the right shape, for tests
     * and for measuring speed and memory without downloading weights.
     */
    public void randomize(Generator g) {
        try (org.bytedeco.pytorch.NoGradGuard guard = new org.bytedeco.pytorch.NoGradGuard()) {
            for (java.util.Map.Entry<String, Tensor> e : dit4j.io.StateDicts.of(this).entrySet()) {
                Tensor t = e.getValue();
                if (e.getKey().contains("norm")) continue;
                if (t.dim() > 1) t.normal_(0.0, Math.sqrt(1.0 / (t.numel() / t.size(0))), new GeneratorOptional(g));
                else t.zero_();
            }
        }
    }

    /** The diagonal Gaussian posterior q(z | x); log-variance clamped to [-30, 20] as diffusers does. */
    public record Posterior(Tensor mean, Tensor logvar) {
        public Tensor std() {
            return torch.exp(logvar.mul(new Scalar(0.5)));
        }

        /** {@code mean + std * noise}. */
        public Tensor sample(Tensor noise) {
            return mean.add(std().mul(noise));
        }

        public Tensor sample(Generator g) {
            return sample(torch.randn(mean.sizes().vec().get(), new GeneratorOptional(g), new TensorOptions(mean.scalar_type())));
        }

        public Tensor mode() {
            return mean;
        }
    }

    public Posterior encode(Tensor x) {
        Tensor h = encoder.forward(x);
        Tensor moments = quantConv == null ? h : quantConv.forward(h);
        long l = config.latentChannels();
        Tensor mean = moments.narrow(1, 0, l);
        Tensor logvar = torch.clamp(moments.narrow(1, l, l), new ScalarOptional(new Scalar(-30.0)), new ScalarOptional(new Scalar(20.0)));
        return new Posterior(mean, logvar);
    }

    /** Latents (raw, not scaled) to images, unclamped. */
    public Tensor decode(Tensor z) {
        Tensor h = postQuantConv == null ? z : postQuantConv.forward(z);
        return decoder.forward(h);
    }

    /** Decodes one image at a time, so memory does not grow with the batch. */
    public Tensor decodeSliced(Tensor z) {
        List<Tensor> parts = new ArrayList<>();
        for (long i = 0; i < z.size(0); i++) {
            long k = i;
            parts.add(Step.nested(() -> decode(z.narrow(0, k, 1))));
        }
        return torch.cat(new TensorVector(parts.toArray(new Tensor[0])), 0);
    }

    /**
     * Decodes overlapping latent tiles of {@code tile} x {@code tile} and blends the overlaps
     * linearly, as diffusers' tiled decoding does, so large images decode in bounded memory. The
     * seams are blended, not exact: use plain decoding where memory allows.
     */
    public Tensor decodeTiled(Tensor z, int tile, double overlap) {
        if (z.size(2) <= tile && z.size(3) <= tile) return decodeSliced(z);
        return tiled(this::decodeSliced, z, tile, overlap, config.downsampling());
    }

    /** Tiled application of a decoder that upsamples by {@code f}: the tiling and blending, apart from the network. */
    static Tensor tiled(java.util.function.UnaryOperator<Tensor> decodeTile, Tensor z, int tile, double overlap, int f) {
        long h = z.size(2), w = z.size(3);
        int stride = (int) (tile * (1 - overlap));
        int blend = (int) (tile * f * overlap);
        List<List<Tensor>> rows = new ArrayList<>();
        for (long y = 0; y < h; y += stride) {
            List<Tensor> row = new ArrayList<>();
            for (long x = 0; x < w; x += stride) {
                long yy = y, xx = x;
                row.add(Step.nested(() -> decodeTile.apply(z.narrow(2, yy, Math.min(tile, h - yy)).narrow(3, xx, Math.min(tile, w - xx)))));
                if (x + tile >= w) break;
            }
            rows.add(row);
            if (y + tile >= h) break;
        }
        long limit = (long) stride * f;
        List<Tensor> outRows = new ArrayList<>();
        for (int i = 0; i < rows.size(); i++) {
            List<Tensor> cols = new ArrayList<>();
            for (int j = 0; j < rows.get(i).size(); j++) {
                Tensor t = rows.get(i).get(j);
                if (i > 0) t = blendVertical(rows.get(i - 1).get(j), t, blend);
                if (j > 0) t = blendHorizontal(rows.get(i).get(j - 1), t, blend);
                rows.get(i).set(j, t);
                boolean lastCol = j == rows.get(i).size() - 1, lastRow = i == rows.size() - 1;
                cols.add(t.narrow(2, 0, lastRow ? t.size(2) : Math.min(limit, t.size(2))).narrow(3, 0, lastCol ? t.size(3) : Math.min(limit, t.size(3))));
            }
            outRows.add(torch.cat(new TensorVector(cols.toArray(new Tensor[0])), 3));
        }
        return torch.cat(new TensorVector(outRows.toArray(new Tensor[0])), 2);
    }

    private static Tensor blendVertical(Tensor above, Tensor below, int extent) {
        int e = (int) Math.min(extent, Math.min(above.size(2), below.size(2)));
        if (e == 0) return below;
        Tensor out = below.clone();
        Tensor ramp = torch.arange(new Scalar(0), new Scalar(e), new TensorOptions(below.scalar_type())).div(new Scalar(e)).view(1, 1, e, 1);
        Tensor a = above.narrow(2, above.size(2) - e, e).narrow(3, 0, below.size(3));
        out.narrow(2, 0, e).copy_(a.mul(ramp.neg().add(new Scalar(1))).add(below.narrow(2, 0, e).mul(ramp)));
        return out;
    }

    private static Tensor blendHorizontal(Tensor left, Tensor right, int extent) {
        int e = (int) Math.min(extent, Math.min(left.size(3), right.size(3)));
        if (e == 0) return right;
        Tensor out = right.clone();
        Tensor ramp = torch.arange(new Scalar(0), new Scalar(e), new TensorOptions(right.scalar_type())).div(new Scalar(e)).view(1, 1, 1, e);
        Tensor a = left.narrow(3, left.size(3) - e, e).narrow(2, 0, right.size(2));
        out.narrow(3, 0, e).copy_(a.mul(ramp.neg().add(new Scalar(1))).add(right.narrow(3, 0, e).mul(ramp)));
        return out;
    }
}
