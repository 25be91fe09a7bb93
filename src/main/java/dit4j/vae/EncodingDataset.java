package dit4j.vae;

import dit4j.data.ImageDataset;
import dit4j.runtime.Step;
import dit4j.runtime.Tensors;
import java.io.IOException;
import java.util.List;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Images encoded to scaled latents as they are read (the official train.py's
 * {@code vae.encode(x).latent_dist.sample().mul_(0.18215)}), on the data loader's threads.
 * Extracting features once ({@link FeatureExtractor}) is the faster route for many epochs.
 */
public final class EncodingDataset implements ImageDataset {
    private final ImageDataset images;
    private final AutoencoderKL vae;

    public EncodingDataset(ImageDataset images, AutoencoderKL vae) {
        if (images.channels() != vae.config.inChannels()) {
            throw new IllegalArgumentException("the VAE takes " + vae.config.inChannels() + "-channel images, the data has " + images.channels() + " (use --channels " + vae.config.inChannels() + ")");
        }
        if (images.imageSize() % vae.config.downsampling() != 0) {
            throw new IllegalArgumentException("image size " + images.imageSize() + " is not divisible by the VAE's downsampling " + vae.config.downsampling());
        }
        this.images = images;
        this.vae = vae;
    }

    @Override
    public int size() {
        return images.size();
    }

    @Override
    public int channels() {
        return vae.config.latentChannels();
    }

    @Override
    public int imageSize() {
        return images.imageSize() / vae.config.downsampling();
    }

    @Override
    public int numClasses() {
        return images.numClasses();
    }

    @Override
    public List<String> classNames() {
        return images.classNames();
    }

    @Override
    public int label(int index) {
        return images.label(index);
    }

    @Override
    public void read(int index, boolean flip, float[] out, int offset) throws IOException {
        read(index, flip, index, out, offset);
    }

    @Override
    public void read(int index, boolean flip, long seed, float[] out, int offset) throws IOException {
        float[] x = new float[images.imageLength()];
        images.read(index, flip, x, 0);
        int s = images.imageSize();
        float[] z;
        try (Step st = Step.open(); InferenceMode g = new InferenceMode()) {
            AutoencoderKL.Posterior p = vae.encode(Tensors.floats(x, 1, images.channels(), s, s));
            z = Tensors.toFloats(p.sample(torch.createCPUGenerator(seed)).mul(new Scalar(vae.config.scalingFactor())));
        }
        System.arraycopy(z, 0, out, offset, z.length);
    }

    @Override
    public String describe(int index) {
        return images.describe(index);
    }
}
