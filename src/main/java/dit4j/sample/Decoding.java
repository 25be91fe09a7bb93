package dit4j.sample;

import dit4j.runtime.Step;
import dit4j.runtime.Tensors;
import dit4j.vae.AutoencoderKL;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/** Latents back to images: {@code vae.decode(z / scaling)}, as the official sample.py does. */
public final class Decoding {
    private Decoding() {}

    /**
     * @param scaling the latent scaling the model was trained with (0: the VAE's own factor)
     * @param tile decode in overlapping tiles of this many latent pixels (bounded memory); 0 decodes whole images one at a time
     */
    public static Tensor decode(Tensor latents, AutoencoderKL vae, double scaling, int tile) {
        double s = scaling > 0 ? scaling : vae.config.scalingFactor();
        int f = vae.config.downsampling();
        Tensor images = Tensors.empty(ScalarType.Float, latents.size(0), vae.config.outChannels(), latents.size(2) * f, latents.size(3) * f);
        try (Step step = Step.open(); InferenceMode g = new InferenceMode()) {
            Tensor z = latents.div(new Scalar(s));
            images.copy_(tile > 0 ? vae.decodeTiled(z, tile, 0.25) : vae.decodeSliced(z));
        }
        return images;
    }
}
