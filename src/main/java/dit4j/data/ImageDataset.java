package dit4j.data;

import java.io.IOException;
import java.util.List;

/**
 * A labelled image dataset; images come out as CHW floats in [-1, 1] of one square size. A latent
 * dataset is one too: its "images" are VAE latents (scaled), its channels the latent channels.
 */
public interface ImageDataset {
    int size();

    /** 1 (grayscale) or 3 (RGB). */
    int channels();

    /** Side of the square images it produces. */
    int imageSize();

    int numClasses();

    /** Index = label. */
    List<String> classNames();

    int label(int index);

    /**
     * Decodes image {@code index} (CHW, [-1,1]) into {@code out[offset .. offset + channels*size*size)},
     * mirrored left-right if {@code flip}. Thread-safe.
     */
    void read(int index, boolean flip, float[] out, int offset) throws IOException;

    /**
     * As {@link #read(int, boolean, float[], int)}, for datasets that draw random numbers per read
     * (a latent sampled from a stored posterior): {@code seed} fixes them, so a resumed run reads
     * exactly what an uninterrupted one would.
     */
    default void read(int index, boolean flip, long seed, float[] out, int offset) throws IOException {
        read(index, flip, out, offset);
    }

    /** Where image {@code index} comes from, for error messages: a file path, or "file.gz#123". */
    String describe(int index);

    /** Floats one image takes: channels * imageSize * imageSize. */
    default int imageLength() {
        return channels() * imageSize() * imageSize();
    }
}
