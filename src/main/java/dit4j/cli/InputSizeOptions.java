package dit4j.cli;

import dit4j.OptionException;
import picocli.CommandLine.Option;

/** The input size of a model that has no data to take it from ({@code dit info}, {@code dit bench}). */
public final class InputSizeOptions {
    @Option(names = "--image-size", paramLabel = "PX", description = "Image size in pixels of a latent model: input size = image size / 8 (default 256).")
    Integer imageSize;

    @Option(names = {"--input-size"}, paramLabel = "N", description = "Input size of the model itself (a pixel-space model, or latents).")
    Integer inputSize;

    @Option(names = "--latent-size", hidden = true, description = "Old name of --input-size.")
    void latentSize(int n) {
        inputSize = n;
    }

    int resolve() {
        if (inputSize != null && imageSize != null) throw new OptionException("give --image-size or --input-size, not both");
        if (inputSize != null) {
            if (inputSize < 1) throw new OptionException("--input-size must be positive, got " + inputSize);
            return inputSize;
        }
        return ModelOptions.latentSize(imageSize != null ? imageSize : 256);
    }
}
