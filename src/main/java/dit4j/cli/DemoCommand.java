package dit4j.cli;

import dit4j.data.FashionMnist;
import dit4j.data.ImageDataset;
import dit4j.diffusion.DiffusionConfig;
import dit4j.model.DiTConfig;
import dit4j.model.ModelStats;
import dit4j.runtime.Precision;
import dit4j.sample.Generation;
import dit4j.train.RunDir;
import dit4j.train.TrainOptions;
import dit4j.train.TrainState;
import dit4j.train.Trainer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import org.bytedeco.pytorch.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code dit demo}: train a small DiT on Fashion-MNIST within a time budget, then sample every class. */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"Train a small class-conditional DiT on Fashion-MNIST on this machine's CPU within a time budget,",
                "then sample every class. Writes OUT/samples.png (one row per class), OUT/loss.png and OUT/checkpoints/*.pt.",
                "Data: --data, $DIT_FASHION_MNIST, Debian's dataset-fashion-mnist package, or a download of the official files."})
public final class DemoCommand implements Callable<Integer> {
    @Option(names = "--minutes", defaultValue = "15", description = "Total time budget, training and sampling (default ${DEFAULT-VALUE}).")
    double minutes;

    @Option(names = "--out", defaultValue = "runs/demo", description = "Output folder (default ${DEFAULT-VALUE}); a previous demo there is replaced.")
    Path out;

    @Option(names = "--data", description = "A folder with the Fashion-MNIST IDX files.")
    Path data;

    @Option(names = "--seed", defaultValue = "0", description = "Seed (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--precision", description = "float32 or bfloat16 (default: bfloat16 where the CPU has native bf16, else float32).")
    String precision;

    @Override
    public Integer call() throws Exception {
        long t0 = System.nanoTime();
        if (precision == null) precision = Precision.fastestOnThisCpu().label();
        Path dir = FashionMnist.locate(data, Path.of(System.getProperty("user.home"), ".cache", "dit4j", "fashion-mnist"), System.err::println);
        TrainOptions o = DemoRecipe.options(dir.toString(), minutes, seed, precision);
        ImageDataset ds = TrainCommand.openData(o);
        DiTConfig config = DemoRecipe.model(ds.imageSize(), ds.channels(), ds.numClasses());
        o.model = config.displayName();
        o.classNames = ds.classNames();
        replacePrevious(out);
        RunDir run = RunDir.create(out);
        o.runDir = out.toString();
        TrainCommand.writeArgs(run, o, config);
        System.err.printf("dit demo: Fashion-MNIST from %s (%d images); %s, %,d parameters; %.1f minutes on %d cores%n",
                dir, ds.size(), DemoRecipe.describe(config), ModelStats.parameters(config), minutes, Runtime.getRuntime().availableProcessors());
        TrainState state = TrainState.fresh(config, o, 0, 1);
        Trainer.Result result = new TrainCommand().train(o, ds, run, state);

        System.err.println("sampling every class...");
        DiffusionConfig dc = DiffusionConfig.defaults().withSchedule(o.noiseSchedule, o.diffusionSteps).withLearnSigma(config.learnSigma());
        Generation.Options so = new Generation.Options(o.sampleSampler, Integer.toString(o.sampleSteps), 0.0, o.sampleCfgScale,
                o.sampleCfgChannels.equals("all") ? 0 : Integer.parseInt(o.sampleCfgChannels), o.sampleClip, seed, 100, Precision.parse(precision));
        long[] labels = new long[ds.numClasses() * DemoRecipe.SAMPLES_PER_CLASS];
        for (int i = 0; i < labels.length; i++) labels[i] = i / DemoRecipe.SAMPLES_PER_CLASS;
        Tensor images;
        try (Progress bar = new Progress("sample", 1)) {
            images = new Generation(state.ema, dc).generate(labels, so, (done, total) -> {
                bar.maxHint(total);
                bar.stepTo(done, null);
            });
        }
        SampleCommand writer = new SampleCommand();
        writer.checkpoint = result.lastCheckpoint();
        writer.perClass = DemoRecipe.SAMPLES_PER_CLASS;
        writer.noImages = true;
        writer.write(images, labels, ds.classNames(), so, out);
        Files.deleteIfExists(out.resolve("samples.npz"));
        double total = (System.nanoTime() - t0) / 60e9;
        System.out.printf("trained %d steps (%,d images) in %.1f min, final loss %.4f%n", result.state().step, result.state().imagesSeen, total, result.finalLoss());
        System.out.printf("samples:     %s%n", out.resolve("samples.png"));
        System.out.printf("loss curve:  %s%n", run.lossPlot());
        System.out.printf("checkpoint:  %s%n", result.lastCheckpoint());
        System.out.printf("more samples: ./dit sample --checkpoint %s --per-class 10 --out %s%n", result.lastCheckpoint(), out.resolve("more"));
        return 0;
    }

    /** The demo folder is the demo's own: an earlier demo run there is replaced, anything else is refused. */
    private static void replacePrevious(Path out) throws Exception {
        if (!Files.exists(out)) return;
        boolean demo = Files.exists(out.resolve("args.json")) || Files.exists(out.resolve("checkpoints"));
        try (Stream<Path> s = Files.list(out)) {
            if (!demo && s.findAny().isPresent()) throw new IllegalArgumentException(out + " exists and is not a demo run: choose another --out");
        }
        System.err.println("dit demo: replacing the previous demo run in " + out);
        try (Stream<Path> walk = Files.walk(out)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
        }
    }
}
