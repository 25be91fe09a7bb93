package dit4j.cli;

import dit4j.dist.Job;
import dit4j.model.ModelStats;
import dit4j.runtime.Precision;
import dit4j.train.TrainOptions;
import dit4j.train.Trainer;
import dit4j.train.Training;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code dit train}: flags into a {@link TrainOptions} (each flag writes its field; the defaults
 * shown are that class's), then {@link Training}.
 */
@Command(name = "train", mixinStandardHelpOptions = true,
        defaultValueProvider = TrainCommand.Defaults.class,
        description = {"Train a DiT with the official recipe (AdamW lr 1e-4, EMA 0.9999, class dropout 0.1, 1000-step linear schedule, learned sigma).",
                "Writes results/NNN-MODEL/ with checkpoints/NNNNNNN.pt, log.jsonl, loss.png and args.json. Ctrl-C or SIGTERM saves a checkpoint before exiting.",
                "Data: a folder with one sub-folder per class (PNG/JPEG), a folder of MNIST/Fashion-MNIST IDX files, or of CIFAR-10 binary batches."})
public final class TrainCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    private final TrainOptions o = new TrainOptions();

    @Option(names = "--data-path", paramLabel = "PATH", description = "The training data (see above).")
    void dataPath(Path p) { o.dataPath = p.toString(); }

    @Option(names = "--features", paramLabel = "DIR", description = "Train on a latent store made by `dit extract-features` instead of images.")
    void features(Path p) { o.featuresPath = p.toString(); }

    @Mixin
    VaeOptions vae = new VaeOptions();

    @Option(names = "--split", description = "Split of IDX/CIFAR data: train or test (default ${DEFAULT-VALUE}).")
    void split(String s) { o.split = s; }

    @Option(names = "--image-size", paramLabel = "PX", description = "Train at this size (center crop + resize); 0 keeps the data's size (256 with --vae). Default: ${DEFAULT-VALUE}.")
    void imageSize(int v) { o.imageSize = v; }

    @Option(names = "--channels", description = "1 (grayscale) or 3 (RGB); 0 keeps the data's channels.")
    void channels(int v) { o.channels = v; }

    @Option(names = "--skip-bad", description = "Skip unreadable images (listed on stderr) instead of failing.")
    void skipBad(boolean v) { o.skipBad = v; }

    @Option(names = "--no-flip", description = "Turn off random horizontal flips.")
    void noFlip(boolean v) { o.flip = !v; }

    @Mixin
    ModelOptions model = new ModelOptions();

    @Option(names = "--noise-schedule", description = "linear or squaredcos_cap_v2 (default ${DEFAULT-VALUE}).")
    void noiseSchedule(String s) { o.noiseSchedule = s; }

    @Option(names = "--objective", description = "diffusion (DiT's Gaussian diffusion) or flow (SiT's flow matching) (default ${DEFAULT-VALUE}).")
    void objective(String s) { o.objective = s; }

    @Option(names = "--path", description = "Flow path: Linear, GVP or VP (default ${DEFAULT-VALUE}).")
    void flowPath(String s) { o.flowPath = s; }

    @Option(names = "--prediction", description = "Flow prediction: velocity, score or noise (default ${DEFAULT-VALUE}).")
    void flowPrediction(String s) { o.flowPrediction = s; }

    @Option(names = "--loss-weight", description = "Flow loss weight of score and noise models: none, velocity or likelihood (default ${DEFAULT-VALUE}).")
    void flowLossWeight(String s) { o.flowLossWeight = s; }

    @Option(names = "--t-sampling", description = "Flow training times: uniform (SiT) or logit-normal[:M,S] (SD3; M 0, S 1 by default) (default ${DEFAULT-VALUE}).")
    void flowTimeSampling(String s) { o.flowTimeSampling = s; }

    @Option(names = "--diffusion-steps", description = "Length of the diffusion schedule (default ${DEFAULT-VALUE}).")
    void diffusionSteps(int v) { o.diffusionSteps = v; }

    @Option(names = "--global-batch-size", description = "Batch size over all ranks (default ${DEFAULT-VALUE}).")
    void globalBatchSize(int v) { o.globalBatchSize = v; }

    @Option(names = "--steps", description = "Training steps (default: --epochs over the data).")
    void steps(long v) {
        if (v < 1) throw new CommandLine.ParameterException(spec.commandLine(), "--steps must be positive (or absent to use --epochs), got " + v);
        o.steps = v;
    }

    @Option(names = "--epochs", description = "Epochs when --steps is absent (default ${DEFAULT-VALUE}).")
    void epochs(int v) { o.epochs = v; }

    @Option(names = "--lr", description = "AdamW learning rate (default ${DEFAULT-VALUE}).")
    void lr(double v) { o.lr = v; }

    @Option(names = "--weight-decay", description = "AdamW weight decay (default ${DEFAULT-VALUE}).")
    void weightDecay(double v) { o.weightDecay = v; }

    @Option(names = "--ema-decay", description = "EMA decay (default ${DEFAULT-VALUE}).")
    void emaDecay(double v) { o.emaDecay = v; }

    @Option(names = "--ema-warmup", description = "Warm the EMA up: decay min(ema-decay, (1+step)/(10+step)), for short runs.")
    void emaWarmup(boolean v) { o.emaWarmup = v; }

    @Option(names = "--warmup-steps", description = "Linear learning-rate warmup steps (default ${DEFAULT-VALUE}).")
    void warmupSteps(int v) { o.warmupSteps = v; }

    @Option(names = "--lr-schedule", description = "constant (official) or cosine (default ${DEFAULT-VALUE}).")
    void lrSchedule(String s) { o.lrSchedule = s; }

    @Option(names = "--min-lr-ratio", description = "Cosine floor as a fraction of --lr (default ${DEFAULT-VALUE}).")
    void minLrRatio(double v) { o.minLrRatio = v; }

    @Option(names = "--grad-clip", description = "Clip the gradient norm to this; 0 is off (default ${DEFAULT-VALUE}).")
    void gradClip(double v) { o.gradClip = v; }

    @Option(names = "--grad-checkpoint", description = "Recompute each block in the backward pass instead of keeping its activations: less memory, ~1/3 more time per step (docs/performance.md).")
    void gradCheckpoint(boolean v) { o.gradCheckpoint = v; }

    @Option(names = "--global-seed", description = "Seed; rank r uses global-seed * world + r (default ${DEFAULT-VALUE}).")
    void globalSeed(long v) { o.globalSeed = v; }

    @Mixin
    PrecisionOption precision = new PrecisionOption();

    @Option(names = "--results-dir", paramLabel = "DIR", description = "Where numbered run folders go (default ${DEFAULT-VALUE}).")
    void resultsDir(Path p) { o.resultsDir = p.toString(); }

    @Option(names = "--run-dir", paramLabel = "DIR", description = "Use exactly this run folder instead of a numbered one.")
    void runDir(Path p) { o.runDir = p.toString(); }

    @Option(names = "--log-every", description = "Steps per log record (default ${DEFAULT-VALUE}).")
    void logEvery(int v) { o.logEvery = v; }

    @Option(names = "--ckpt-every", description = "Steps per checkpoint (default ${DEFAULT-VALUE}); one is always written at the end.")
    void ckptEvery(long v) { o.ckptEvery = v; }

    @Option(names = "--minutes", description = "Time budget; the step count is fitted to it after the first steps.")
    void minutes(double v) { o.minutes = v; }

    @Option(names = "--num-workers", description = "Background data threads (default ${DEFAULT-VALUE}).")
    void numWorkers(int v) { o.numWorkers = v; }

    @Mixin
    DeviceOption device = new DeviceOption();

    @Option(names = "--eval-every", paramLabel = "N", description = "Every N steps and at the end, log the FID and Inception Score of --eval-samples EMA samples against --eval-ref (docs/evaluation.md).")
    void evalEvery(long v) { o.evalEvery = v; }

    @Option(names = "--eval-ref", paramLabel = "REF", description = "The FID reference, as `dit eval` takes it: an .npz batch, an image folder or a statistics .npz. Alone: evaluate at the end only.")
    void evalRef(Path p) { o.evalRef = p.toAbsolutePath().toString(); }

    @Option(names = "--eval-samples", paramLabel = "K", description = "Samples per evaluation (default ${DEFAULT-VALUE}), made with the sampling settings `dit sample` uses for the run's checkpoints.")
    void evalSamples(int v) { o.evalSamples = v; }

    @Option(names = "--inception", paramLabel = "FILE", description = "Inception weights for --eval-ref (default: the cache file of `dit download inception`).")
    void inception(Path p) { o.inception = p.toAbsolutePath().toString(); }

    @Option(names = "--resume", paramLabel = "CKPT|RUN", description = "Continue a run from a checkpoint file or a run folder (its latest checkpoint).")
    Path resume;

    @Mixin
    DistOptions dist = new DistOptions();

    @Override
    public Integer call() throws Exception {
        // Data parallel: launch workers here, or join the job the environment names (world size 1: neither).
        if (dist.launches()) return dist.launch(spec.commandLine());
        o.precision = precision.orElse(Precision.FLOAT32).label();
        o.device = device.checked();
        if (vae.vae != null) o.vaePath = vae.vae.toAbsolutePath().toString();
        if (vae.vaeConfig != null) o.vaeConfigPath = vae.vaeConfig.toAbsolutePath().toString();
        if (o.inception == null && o.evalRef != null) o.inception = EvalCommand.defaultInception().toAbsolutePath().toString();
        Job job = dist.join(o.device);
        Integer code = train(job);
        job.close(); // after a successful run only: it waits for every rank
        return code;
    }

    private Integer train(Job job) throws Exception {
        Training t;
        if (resume != null) {
            CommandLine.ParseResult pr = spec.commandLine().getParseResult();
            t = Training.resume(resume, recorded -> {
                if (pr.hasMatchedOption("--steps")) recorded.steps = o.steps;
                if (pr.hasMatchedOption("--minutes")) recorded.minutes = o.minutes;
                if (pr.hasMatchedOption("--log-every")) recorded.logEvery = o.logEvery;
                if (pr.hasMatchedOption("--ckpt-every")) recorded.ckptEvery = o.ckptEvery;
                if (pr.hasMatchedOption("--num-workers")) recorded.numWorkers = o.numWorkers;
                if (pr.hasMatchedOption("--data-path")) recorded.dataPath = o.dataPath;
                if (pr.hasMatchedOption("--eval-every")) recorded.evalEvery = o.evalEvery;
                if (pr.hasMatchedOption("--eval-ref")) recorded.evalRef = o.evalRef;
                if (pr.hasMatchedOption("--eval-samples")) recorded.evalSamples = o.evalSamples;
                if (pr.hasMatchedOption("--inception")) recorded.inception = o.inception;
                recorded.device = o.device; // a property of this machine, not of the run
                if (recorded.evalRef != null && recorded.inception == null) recorded.inception = EvalCommand.defaultInception().toAbsolutePath().toString();
                return recorded;
            }, pr.hasMatchedOption("--steps") ? o.steps : null, Main::warn, job);
            System.err.printf("resuming %s from step %d%n", t.run.root(), t.state.step);
        } else {
            if (o.dataPath == null && o.featuresPath == null) throw new CommandLine.ParameterException(spec.commandLine(), "--data-path or --features is required (or --resume)");
            t = Training.start(o, model::build, Main::warn, job);
        }
        var c = t.state.config;
        if (job.worldSize() > 1) System.err.printf("rank %d of %d%n", job.rank(), job.worldSize());
        System.err.printf("%s: %,d parameters, %.3f Gflops; %d images of %dx%dx%d, %d classes; batch %d, %s%n",
                c.displayName(), ModelStats.parameters(c), ModelStats.gflops(c), t.data.size(), t.data.channels(),
                t.data.imageSize(), t.data.imageSize(), t.data.numClasses(), t.options.globalBatchSize, t.options.precision);
        Trainer.Result result = TrainProgress.run(t);
        System.out.printf("run:        %s%n", t.run.root());
        System.out.printf("checkpoint: %s%n", result.lastCheckpoint());
        System.out.printf("loss curve: %s%n", t.run.lossPlot());
        if (t.options.evaluates()) System.out.printf("FID curve:  %s%n", t.run.fidPlot());
        System.out.printf("steps %d, final loss %.4f%s%n", result.state().step, result.finalLoss(), result.stoppedEarly() ? " (stopped early)" : "");
        return result.stoppedEarly() ? TrainProgress.signalExit : 0;
    }

    /** Shows {@link TrainOptions}' own defaults in the help: {@code --global-batch-size} is the field {@code globalBatchSize}. */
    static final class Defaults implements CommandLine.IDefaultValueProvider {
        private static final TrainOptions DEFAULTS = new TrainOptions();

        @Override
        public String defaultValue(CommandLine.Model.ArgSpec arg) throws Exception {
            if (!(arg instanceof CommandLine.Model.OptionSpec opt) || !opt.command().name().equals("train")) return null;
            if (opt.longestName().equals("--steps")) return null; // absent means --epochs
            StringBuilder field = new StringBuilder();
            for (String part : opt.longestName().substring(2).split("-")) {
                field.append(field.length() == 0 ? part : Character.toUpperCase(part.charAt(0)) + part.substring(1));
            }
            try {
                Object v = TrainOptions.class.getField(field.toString()).get(DEFAULTS);
                return v instanceof Number || v instanceof String ? String.valueOf(v) : null;
            } catch (NoSuchFieldException e) {
                return null;
            }
        }
    }
}
