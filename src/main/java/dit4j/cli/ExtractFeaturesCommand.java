package dit4j.cli;

import dit4j.data.Datasets;
import dit4j.data.ImageDataset;
import dit4j.vae.AutoencoderKL;
import dit4j.vae.FeatureExtractor;
import dit4j.vae.VaeFiles;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code dit extract-features}: encode a dataset once into a latent store for {@code dit train --features}. */
@Command(name = "extract-features", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Encode an image dataset with the VAE into a sharded latent store (posterior mean and log-variance, F16),",
                "with labels, optionally also of the mirrored images. Resumable: run it again to continue. Train on it with",
                "`dit train --features DIR`."})
public final class ExtractFeaturesCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--data-path", required = true, description = "Images: class folders, IDX or CIFAR-10.")
    String dataPath;

    @Mixin
    VaeOptions vae = new VaeOptions();

    @Option(names = "--image-size", defaultValue = "256", description = "Center crop and resize to this (default ${DEFAULT-VALUE}).")
    int imageSize;

    @Option(names = "--split", defaultValue = "train", description = "Split of IDX/CIFAR data (default ${DEFAULT-VALUE}).")
    String split;

    @Option(names = "--out", required = true, description = "The store folder.")
    Path out;

    @Option(names = "--flips", description = "Also store the mirrored images' latents (for random flips in training).")
    boolean flips;

    @Option(names = "--shard-size", defaultValue = "1024", description = "Images per shard (default ${DEFAULT-VALUE}).")
    int shardSize;

    @Option(names = "--batch-size", defaultValue = "8", description = "Images encoded at once (default ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--skip-bad", description = "Skip unreadable images instead of failing.")
    boolean skipBad;

    @Override
    public Integer call() throws Exception {
        if (vae.vae == null) throw new CommandLine.ParameterException(spec.commandLine(), "--vae is required");
        if (imageSize < 8 || imageSize > 4096) throw new dit4j.OptionException("--image-size must be in [8, 4096], got " + imageSize);
        if (shardSize < 1) throw new dit4j.OptionException("--shard-size must be positive, got " + shardSize);
        if (batchSize < 1) throw new dit4j.OptionException("--batch-size must be positive, got " + batchSize);
        AutoencoderKL model = VaeFiles.load(vae.vae, vae.vaeConfig);
        ImageDataset data = Datasets.open(dataPath, split, imageSize, model.config.inChannels(), skipBad,
                w -> System.err.println("dit extract-features: warning: " + w));
        System.err.printf("encoding %d images of %dx%d into %s%n", data.size(), imageSize, imageSize, out);
        long t0 = System.nanoTime();
        try (Progress bar = new Progress("encode", data.size())) {
            FeatureExtractor.extract(model, vae.vae, data, out, flips, shardSize, batchSize, dataPath, done -> bar.stepTo(done, null));
        }
        System.out.printf("%d images in %.1f s -> %s%n", data.size(), (System.nanoTime() - t0) / 1e9, out);
        return 0;
    }
}
