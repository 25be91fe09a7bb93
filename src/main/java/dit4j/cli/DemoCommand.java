package dit4j.cli;

import dit4j.data.FashionMnist;
import dit4j.model.ModelStats;
import dit4j.runtime.Precision;
import dit4j.sample.Generation;
import dit4j.sample.Labels;
import dit4j.sample.SampleWriter;
import dit4j.train.TrainOptions;
import dit4j.train.Trainer;
import dit4j.train.Training;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import org.bytedeco.pytorch.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code dit demo}: train a small DiT on Fashion-MNIST within a time budget, then sample every class. */
@Command(name = "demo", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Train a small class-conditional DiT on Fashion-MNIST on this machine's CPU within a time budget,",
                "then sample every class. Writes OUT/samples.png (one row per class), OUT/loss.png and OUT/checkpoints/*.pt.",
                "Data: --data-path, $DIT_FASHION_MNIST, Debian's dataset-fashion-mnist package, or a download of the official files."})
public final class DemoCommand implements Callable<Integer> {
    @Option(names = "--minutes", defaultValue = "15", description = "Total time budget, training and sampling (default ${DEFAULT-VALUE}).")
    double minutes;

    @Option(names = "--out", defaultValue = "runs/demo", paramLabel = "DIR", description = "Output folder (default ${DEFAULT-VALUE}); a previous demo there is replaced.")
    Path out;

    @Option(names = "--data-path", paramLabel = "DIR", description = "A folder with the Fashion-MNIST IDX files.")
    Path data;

    @Option(names = "--data", hidden = true, description = "Old name of --data-path.")
    void oldData(Path p) {
        data = p;
    }

    @Option(names = "--global-seed", description = "Seed of training and sampling (default ${DEFAULT-VALUE}).")
    long seed = 0;

    @Option(names = "--seed", hidden = true, description = "Old name of --global-seed.")
    void oldSeed(long s) {
        seed = s;
    }

    @Mixin
    PrecisionOption precision = new PrecisionOption();

    @Override
    public Integer call() throws Exception {
        long t0 = System.nanoTime();
        if (!(minutes > 0) || !Double.isFinite(minutes)) throw new dit4j.OptionException("--minutes must be a positive number, got " + minutes);
        Precision p = precision.orElse(Precision.fastestOnThisCpu());
        Path dir = FashionMnist.locate(data, Path.of(System.getProperty("user.home"), ".cache", "dit4j", "fashion-mnist"), System.err::println);
        TrainOptions o = DemoRecipe.options(dir.toString(), minutes, seed, p.label());
        o.runDir = out.toString();
        replacePrevious(out);
        Training t = Training.start(o, DemoRecipe::model, Main::warn, dit4j.dist.Job.SINGLE);
        System.err.printf("dit demo: Fashion-MNIST from %s (%d images); %s, %,d parameters; %.1f minutes on %d cores%n",
                dir, t.data.size(), DemoRecipe.describe(t.state.config), ModelStats.parameters(t.state.config), minutes, Runtime.getRuntime().availableProcessors());
        Trainer.Result result = TrainProgress.run(t);

        System.err.println("sampling every class...");
        Generation.Options so = DemoRecipe.sampling(o, seed, p);
        long[] labels = Labels.perClass(t.data.numClasses(), DemoRecipe.SAMPLES_PER_CLASS);
        Tensor images;
        try (Progress bar = new Progress("sample", 1)) {
            Generation g = new Generation(t.state.ema, o.diffusion(t.state.config.learnSigma())).flow(o.objective.equals("flow") ? o.transport() : null);
            images = g.generate(labels, so, (done, total) -> {
                bar.maxHint(total);
                bar.stepTo(done, null);
            });
        }
        SampleWriter writer = new SampleWriter(out, result.lastCheckpoint()).perClass(DemoRecipe.SAMPLES_PER_CLASS).images(false).npz(false);
        writer.write(images, labels, t.data.classNames(), so);
        double total = (System.nanoTime() - t0) / 60e9;
        System.out.printf("trained %d steps (%,d images) in %.1f min, final loss %.4f%n", result.state().step, result.state().imagesSeen, total, result.finalLoss());
        System.out.printf("samples:     %s%n", writer.grid());
        System.out.printf("loss curve:  %s%n", t.run.lossPlot());
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
