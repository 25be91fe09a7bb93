package dit4j.cli;

import dit4j.OptionException;
import dit4j.flow.FlowPath;
import dit4j.flow.Transport;
import dit4j.dist.DistEnv;
import dit4j.dist.Job;
import dit4j.runtime.Devices;
import dit4j.runtime.Precision;
import dit4j.sample.Generation;
import dit4j.sample.Generator;
import dit4j.sample.IndexedNoise;
import dit4j.sample.Labels;
import dit4j.sample.SampleModel;
import dit4j.sample.Result;
import dit4j.sample.SampleArchive;
import dit4j.sample.SampleWriter;
import dit4j.sample.ShardedSampling;
import dit4j.vae.AutoencoderKL;
import dit4j.vae.VaeFiles;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import org.bytedeco.pytorch.Tensor;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code dit sample}: images from a checkpoint (ours or official). */
@Command(name = "sample", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Sample class-conditional images from a checkpoint (dit4j or official: .pt state dict, train.py checkpoint, .safetensors).",
                "Writes DIR/samples.png (a grid), DIR/images/NNNNNN.png (generation parameters in the PNG text chunks) and",
                "DIR/samples.npz (arr_0: uint8 N x H x W x C, labels: int64), the layout of the official evaluation.",
                "Sampler defaults come from the checkpoint's training run when it recorded them, else from the official sample.py (DDPM 250 steps, guidance 4.0).",
                "With --num-samples K (for FID, like sample_ddp.py; also over workers with --nproc-per-node): DIR/NNNNNN.png as they finish, then DIR/samples.npz;",
                "each image's label and noise come from (seed, index), so the images do not depend on the number of workers, and a rerun makes only the missing ones."})
public final class SampleCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--checkpoint", required = true, paramLabel = "CKPT", description = "The checkpoint.")
    Path checkpoint;

    @Option(names = "--labels", split = ",", description = "Class ids (or names recorded in the checkpoint), comma-separated.")
    List<String> labels;

    @Option(names = "--per-class", paramLabel = "N", description = "N images of every class (rows of the grid).")
    Integer perClass;

    @Option(names = "--num-samples", paramLabel = "K", description = "Sample K images for evaluation (labels uniform from the seed, or cycling --labels, or --per-class): DIR/NNNNNN.png, resumable, then DIR/samples.npz.")
    Integer numSamples;

    @Mixin
    SamplingOptions sampling = new SamplingOptions();

    @Mixin
    PrecisionOption precision = new PrecisionOption();

    @Mixin
    DeviceOption device = new DeviceOption();

    @Mixin
    WeightsOption weights = new WeightsOption();

    @Option(names = "--num-heads", defaultValue = "0", description = "Attention heads, when a bare state dict of a non-official width cannot tell.")
    int numHeads;

    @Mixin
    VaeOptions vae = new VaeOptions();

    @Option(names = "--image-size", paramLabel = "PX", description = "Sample at this size instead of the trained one (models trained with --pos rope only; latent models: pixels, 8 per latent).")
    Integer imageSize;

    @Option(names = "--objective", description = "flow: sample a bare state dict that records no objective as SiT's flow matching (e.g. `dit download SiT-XL-2-256`); runs record theirs.")
    String objective;

    @Option(names = {"--path", "--path-type"}, description = "Flow path of --objective flow: Linear, GVP or VP (default Linear).")
    String flowPath;

    @Option(names = "--prediction", description = "Flow prediction of --objective flow: velocity, score or noise (default velocity).")
    String flowPrediction;

    @Option(names = "--decode-tile", defaultValue = "0", description = "Decode latents in overlapping tiles of this many latent pixels (bounded memory for large images); 0 decodes whole images one at a time.")
    int decodeTile;

    @Option(names = "--out", defaultValue = "samples", paramLabel = "DIR", description = "Output folder (default ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--grid-columns", description = "Images per grid row (default: 4, or the per-class count up to 10).")
    Integer gridColumns;

    @Option(names = "--no-images", description = "Skip the per-image PNGs.")
    boolean noImages;

    @Mixin
    DistOptions dist = new DistOptions();

    @Override
    public Integer call() throws Exception {
        if (perClass != null && labels != null) throw new OptionException("give --labels or --per-class, not both");
        if (numSamples != null && numSamples < 1) throw new OptionException("--num-samples must be positive, got " + numSamples);
        boolean sharded = numSamples != null || dist.launches() || DistEnv.inEnvironment(System.getenv());
        if (sharded && numSamples == null && perClass == null) throw new OptionException("--nproc-per-node: sampling over workers needs --num-samples K (or --per-class N)");
        if (sharded && noImages) throw new OptionException("--no-images: --num-samples writes every image (they make the run resumable and the npz)");
        if (dist.launches()) return dist.launch(spec.commandLine());
        if (sharded) device.checked();
        else Devices.requireCpu(device.device, "dit sample without --num-samples");
        if (decodeTile < 0) throw new OptionException("--decode-tile must be >= 0, got " + decodeTile);
        if (imageSize != null && imageSize < 1) throw new OptionException("--image-size must be positive, got " + imageSize);
        SampleModel m = SampleModel.load(checkpoint, weights.preferEma(), numHeads, imageSize != null ? imageSize : 0);
        if ((flowPath != null || flowPrediction != null) && !"flow".equals(objective)) {
            throw new OptionException((flowPath != null ? "--path" : "--prediction") + " is for --objective flow (a bare state dict); a run samples with the path and prediction it recorded");
        }
        if (objective != null) m = withObjective(m);
        Generation.Options o = sampling.over(m.defaults(), precision.orElse(Precision.FLOAT32));
        if (sharded) return sampleMany(m, o);
        long[] ys = perClass != null ? Labels.perClass(m.numClasses(), perClass) : Labels.parse(labels, m.classNames(), m.numClasses());
        Path vaePath = m.latent() ? vaePath(m) : null;
        AutoencoderKL decoder = vaePath != null ? VaeFiles.load(vaePath, vae.vaeConfig) : null;
        System.err.printf("sampling %d images from %s (%s weights): %s %s steps, guidance %.2f on %s channels%s, seed %d%n",
                ys.length, checkpoint.getFileName(), m.pretrained().file().weightsKey().isEmpty() ? "state dict" : m.pretrained().file().weightsKey(),
                o.sampler(), o.steps(), o.cfgScale(), o.cfgChannels() <= 0 ? "all" : Integer.toString(o.cfgChannels()),
                o.cfgEverywhere() ? "" : String.format(" for t in [%s, %s]", o.cfgLo(), o.cfgHi()), o.seed());
        long t0 = System.nanoTime();
        Tensor images;
        // The library's generator, as the server uses it: one request alone gives Generation's images exactly.
        try (Generator g = new Generator(m, decoder, checkpoint, new Generator.Limits(Math.max(1, o.batchSize()), 1)).decodeTile(decodeTile);
             Progress bar = new Progress("sample", 1)) {
            Result r = g.submit(ys, o, new Generator.Listener() {
                @Override
                public void onStep(int done, int total) {
                    bar.maxHint(total);
                    bar.stepTo(done, null);
                }
            }).join();
            if (decoder != null) System.err.printf("decoding %d latents with %s%n", r.count(), vaePath);
            images = r.tensor();
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        SampleWriter writer = new SampleWriter(out, checkpoint).perClass(perClass).gridColumns(gridColumns).images(!noImages);
        writer.write(images, ys, m.classNames(), o);
        System.out.printf("%d images in %.1f s (%.2f s/image)%n", ys.length, secs, secs / ys.length);
        System.out.printf("grid:   %s%n", writer.grid());
        System.out.printf("npz:    %s%n", out.resolve("samples.npz"));
        if (!noImages) System.out.printf("images: %s%n", out.resolve("images"));
        return 0;
    }

    /** --num-samples: this rank's share of the images, then (rank 0) the npz of all. */
    private Integer sampleMany(SampleModel m, Generation.Options o) throws Exception {
        long[] ys;
        if (perClass != null) {
            ys = Labels.perClass(m.numClasses(), perClass);
            if (numSamples != null && numSamples != ys.length) throw new OptionException("--num-samples " + numSamples + " disagrees with --per-class " + perClass + " x " + m.numClasses() + " classes = " + ys.length);
        } else if (labels != null) {
            long[] given = Labels.parse(labels, m.classNames(), m.numClasses());
            ys = new long[numSamples];
            for (int i = 0; i < ys.length; i++) ys[i] = given[i % given.length];
        } else {
            ys = IndexedNoise.labels(o.seed(), numSamples, m.numClasses());
        }
        AutoencoderKL decoder = m.latent() ? VaeFiles.load(vaePath(m), vae.vaeConfig) : null;
        Job job = dist.join(device.device);
        ShardedSampling sampling = new ShardedSampling(m, decoder, checkpoint, out, o, ys).decodeTile(decodeTile).device(job.device(device.device));
        if (job.writes()) {
            System.err.printf("sampling %d images over %d worker%s into %s: %s %s steps, guidance %.2f, seed %d, batch %d%n", ys.length, job.worldSize(),
                    job.worldSize() == 1 ? "" : "s", out, o.sampler(), o.steps(), o.cfgScale(), o.seed(), o.batchSize());
        }
        long t0 = System.nanoTime();
        ShardedSampling.Counts c;
        try (Progress bar = new Progress("sample", 1)) {
            c = sampling.run(job.rank(), job.worldSize(), (done, total) -> {
                bar.maxHint(total);
                bar.stepTo(done, null);
            });
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        System.err.printf("rank %d: %d images: computed %d in %.1f s, %d were already there%n", job.rank(), c.owned(), c.computed(), secs, c.skipped());
        long computed = job.sum(c.computed(), "counting the images"), skipped = job.sum(c.skipped(), "counting the images");
        job.close(); // every rank is done; the others need not wait while rank 0 writes the npz
        if (job.writes()) {
            Path npz = out.resolve("samples.npz");
            long[] shape = SampleArchive.write(npz, out, ys);
            System.out.printf("%d images: %d computed now, %d already there%n", ys.length, computed, skipped);
            System.out.printf("images: %s%n", out);
            System.out.printf("npz:    %s (arr_0 %s uint8, labels int64)%n", npz, java.util.Arrays.toString(shape));
        }
        return 0;
    }

    private SampleModel withObjective(SampleModel m) {
        if (objective.equals("diffusion")) return m.withTransport(null);
        if (!objective.equals("flow")) throw new OptionException("--objective must be diffusion or flow, got '" + objective + "'");
        try {
            return m.withTransport(Transport.create(FlowPath.parse(flowPath != null ? flowPath : "Linear"),
                    Transport.Prediction.parse(flowPrediction != null ? flowPrediction : "velocity"), Transport.LossWeight.parse("none")));
        } catch (IllegalArgumentException e) {
            throw new OptionException("--path/--prediction: " + e.getMessage());
        }
    }

    /** The VAE a latent model decodes with: --vae, else the one its training run recorded. */
    private Path vaePath(SampleModel m) {
        Path v = vae.vae != null ? vae.vae : m.recordedVae();
        if (v == null) throw new IllegalArgumentException(checkpoint + " is a latent model: pass --vae DIR with its VAE (e.g. `dit download sd-vae-ft-ema`)");
        return v;
    }
}
