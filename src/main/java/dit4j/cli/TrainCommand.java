package dit4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dit4j.data.Datasets;
import dit4j.data.ImageDataset;
import dit4j.data.LatentStore;
import dit4j.vae.AutoencoderKL;
import dit4j.vae.EncodingDataset;
import dit4j.vae.VaeFiles;
import dit4j.io.AtomicFiles;
import dit4j.io.CheckpointException;
import dit4j.io.CheckpointFile;
import dit4j.model.DiTConfig;
import dit4j.model.ModelStats;
import dit4j.train.LossPlot;
import dit4j.train.RunDir;
import dit4j.train.TrainOptions;
import dit4j.train.TrainState;
import dit4j.train.Trainer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import sun.misc.Signal;

/** {@code dit train}: train a class-conditional DiT on a folder of images, IDX or CIFAR-10 data. */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Train a DiT with the official recipe (AdamW lr 1e-4, EMA 0.9999, class dropout 0.1, 1000-step linear schedule, learned sigma).",
                "Writes results/NNN-MODEL/ with checkpoints/NNNNNNN.pt, log.jsonl, loss.png and args.json. Ctrl-C saves a checkpoint before exiting.",
                "Data: a folder with one sub-folder per class (PNG/JPEG), a folder of MNIST/Fashion-MNIST IDX files, or of CIFAR-10 binary batches."})
public final class TrainCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--data-path", description = "The training data (see above).")
    Path dataPath;

    @Option(names = "--features", description = "Train on a latent store made by `dit extract-features` instead of images.")
    Path features;

    @Option(names = "--vae", description = "Train in latent space, encoding --data-path images with this VAE as they are read.")
    Path vae;

    @Option(names = "--split", defaultValue = "train", description = "Split of IDX/CIFAR data: train or test (default ${DEFAULT-VALUE}).")
    String split;

    @Option(names = "--image-size", defaultValue = "0", description = "Train at this size (center crop + resize); 0 keeps the data's size.")
    int imageSize;

    @Option(names = "--channels", defaultValue = "0", description = "1 (grayscale) or 3 (RGB); 0 keeps the data's channels.")
    int channels;

    @Option(names = "--skip-bad", description = "Skip unreadable images (listed on stderr) instead of failing.")
    boolean skipBad;

    @Option(names = "--no-flip", negatable = false, description = "Turn off random horizontal flips.")
    boolean noFlip;

    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--noise-schedule", defaultValue = "linear", description = "linear or squaredcos_cap_v2 (default ${DEFAULT-VALUE}).")
    String noiseSchedule;

    @Option(names = "--diffusion-steps", defaultValue = "1000", description = "Length of the diffusion schedule (default ${DEFAULT-VALUE}).")
    int diffusionSteps;

    @Option(names = "--global-batch-size", defaultValue = "256", description = "Batch size over all ranks (default ${DEFAULT-VALUE}).")
    int globalBatchSize;

    @Option(names = "--steps", defaultValue = "0", description = "Training steps; 0 uses --epochs.")
    long steps;

    @Option(names = "--epochs", defaultValue = "1400", description = "Epochs when --steps is 0 (default ${DEFAULT-VALUE}).")
    int epochs;

    @Option(names = "--lr", defaultValue = "1e-4", description = "AdamW learning rate (default ${DEFAULT-VALUE}).")
    double lr;

    @Option(names = "--weight-decay", defaultValue = "0", description = "AdamW weight decay (default ${DEFAULT-VALUE}).")
    double weightDecay;

    @Option(names = "--ema-decay", defaultValue = "0.9999", description = "EMA decay (default ${DEFAULT-VALUE}).")
    double emaDecay;

    @Option(names = "--ema-warmup", description = "Warm the EMA up: decay min(ema-decay, (1+step)/(10+step)), for short runs.")
    boolean emaWarmup;

    @Option(names = "--warmup-steps", defaultValue = "0", description = "Linear learning-rate warmup steps.")
    int warmupSteps;

    @Option(names = "--lr-schedule", defaultValue = "constant", description = "constant (official) or cosine.")
    String lrSchedule;

    @Option(names = "--min-lr-ratio", defaultValue = "0.1", description = "Cosine floor as a fraction of --lr (default ${DEFAULT-VALUE}).")
    double minLrRatio;

    @Option(names = "--grad-clip", defaultValue = "0", description = "Clip the gradient norm to this; 0 is off.")
    double gradClip;

    @Option(names = "--grad-checkpoint", description = "Recompute each block in the backward pass instead of keeping its activations (less memory, ~1/3 more compute).")
    boolean gradCheckpoint;

    @Option(names = "--global-seed", defaultValue = "0", description = "Seed; rank r uses global-seed * world + r (default ${DEFAULT-VALUE}).")
    long globalSeed;

    @Option(names = "--precision", defaultValue = "float32", description = "float32, or bfloat16 (CPU autocast).")
    String precision;

    @Option(names = "--results-dir", defaultValue = "results", description = "Where numbered run folders go (default ${DEFAULT-VALUE}).")
    Path resultsDir;

    @Option(names = "--run-dir", description = "Use exactly this run folder instead of a numbered one.")
    Path runDir;

    @Option(names = "--log-every", defaultValue = "100", description = "Steps per log record (default ${DEFAULT-VALUE}).")
    int logEvery;

    @Option(names = "--ckpt-every", defaultValue = "50000", description = "Steps per checkpoint (default ${DEFAULT-VALUE}); one is always written at the end.")
    long ckptEvery;

    @Option(names = "--minutes", defaultValue = "0", description = "Time budget; the step count is fitted to it after the first steps.")
    double minutes;

    @Option(names = "--num-workers", defaultValue = "1", description = "Background data threads (default ${DEFAULT-VALUE}).")
    int numWorkers;

    @Option(names = "--device", defaultValue = "cpu", description = "cpu (this build's natives are CPU-only).")
    String device;

    @Option(names = "--resume", description = "Continue a run from a checkpoint file or a run folder (its latest checkpoint).")
    Path resume;

    @Mixin
    DistOptions dist = new DistOptions();

    @Override
    public Integer call() throws Exception {
        // Data parallel: launch workers, or join the job the environment names (world size 1: neither).
        if (dist.launches()) return dist.launch(spec.commandLine());
        dist.join(device);
        Integer code = trainHere();
        dist.leave();
        return code;
    }

    private Integer trainHere() throws Exception {
        if (!device.equals("cpu")) {
            throw new IllegalArgumentException("--device " + device + ": this build ships the CPU natives (linux-x86_64); CUDA needs the linux-x86_64-gpu natives");
        }
        TrainOptions o;
        DiTConfig config;
        TrainState state;
        RunDir run;
        ImageDataset data;
        if (resume != null) {
            Path ckpt = resolveCheckpoint(resume);
            CheckpointFile file = CheckpointFile.read(ckpt, true);
            o = TrainState.optionsOf(file);
            overrideForResume(o);
            config = DiTConfig.fromJson(new ObjectMapper().valueToTree(file.args().get("dit_config")));
            data = openData(o);
            state = TrainState.resume(ckpt, o, config);
            if (dist.worldSize() > 1) state.reseedForRank(o.globalSeed, dist.rank(), dist.worldSize());
            // A new length given on resume replaces the recorded one (the schedule then spans the new length).
            if (spec.commandLine().getParseResult().hasMatchedOption("--steps")) state.totalSteps = steps;
            if (state.step >= state.totalSteps) {
                throw new IllegalArgumentException(ckpt + " is at step " + state.step + ", the end of its run: pass --steps N (N > " + state.step + ") to train further");
            }
            run = RunDir.of(ckpt);
            run.removeStaleTemporaries();
            System.err.printf("resuming %s from step %d (%s)%n", run.root(), state.step, ckpt.getFileName());
        } else {
            if (dataPath == null && features == null) throw new CommandLine.ParameterException(spec.commandLine(), "--data-path or --features is required (or --resume)");
            o = options();
            data = openData(o);
            config = modelOptions.build(data.imageSize(), data.channels(), data.numClasses());
            o.model = config.displayName();
            o.classNames = data.classNames();
            run = dist.runDir(() -> runDir != null ? RunDir.create(runDir) : RunDir.next(resultsDir, config.displayName()));
            if (run.latestCheckpoint().isPresent()) {
                throw new IllegalArgumentException(run.root() + " already holds checkpoints: pass --resume " + run.root() + " to continue it, or choose another --run-dir");
            }
            state = TrainState.fresh(config, o, dist.rank(), dist.worldSize());
        }
        if (dist.writes()) writeArgs(run, o, config);
        System.err.printf("%s: %,d parameters, %.3f Gflops; %d images of %dx%dx%d, %d classes; batch %d, %s%n",
                config.displayName(), ModelStats.parameters(config), ModelStats.gflops(config), data.size(), data.channels(),
                data.imageSize(), data.imageSize(), data.numClasses(), o.globalBatchSize, o.precision);
        Trainer.Result result = train(o, data, run, state);
        System.out.printf("run:        %s%n", run.root());
        System.out.printf("checkpoint: %s%n", result.lastCheckpoint());
        System.out.printf("loss curve: %s%n", run.lossPlot());
        System.out.printf("steps %d, final loss %.4f%s%n", result.state().step, result.finalLoss(), result.stoppedEarly() ? " (stopped early)" : "");
        return result.stoppedEarly() && interrupted ? 130 : 0;
    }

    private volatile boolean interrupted;

    /** Runs the loop with a progress bar, Ctrl-C handling and the loss plot; shared with the demo. */
    Trainer.Result train(TrainOptions o, ImageDataset data, RunDir run, TrainState state) throws Exception {
        Progress[] bar = new Progress[1];
        Trainer.Listener listener = new Trainer.Listener() {
            @Override
            public void onStart(TrainState s, RunDir r) {
                bar[0] = new Progress("train", s.totalSteps);
                bar[0].stepTo(s.step, null);
            }

            @Override
            public void onStep(Trainer.StepStats st) {
                bar[0].maxHint(st.totalSteps());
                bar[0].stepTo(st.step(), String.format("loss %.4f  %.0f img/s", st.smoothedLoss(), st.imagesPerSec()));
            }

            long lastPlot;

            @Override
            public void onCheckpoint(Path file, long step) {
                // The plot is for people: redrawn at most once a minute, and always at the end.
                if (System.nanoTime() - lastPlot < 60e9 && step < state.totalSteps) return;
                lastPlot = System.nanoTime();
                drawLossPlot(run);
            }

            @Override
            public void onMessage(String message) {
                System.err.println("\n" + message);
            }
        };
        Trainer trainer = new Trainer(o, data, run, state, listener, dist.ranks()).dataParallel(dist.dataParallel(state));
        Signal.handle(new Signal("INT"), sig -> {
            interrupted = true;
            System.err.println("\ninterrupted: saving a checkpoint (Ctrl-C again to quit at once)");
            Signal.handle(new Signal("INT"), again -> Runtime.getRuntime().halt(130));
            trainer.requestStop();
        });
        try {
            Trainer.Result result = trainer.run();
            if (dist.writes()) drawLossPlot(run);
            return result;
        } finally {
            if (bar[0] != null) bar[0].close();
        }
    }

    /** Draws loss.png from the run's log, averaged down to at most 1000 points. */
    static void drawLossPlot(RunDir run) {
        try {
            java.util.List<double[]> points = Trainer.readLoss(run.log());
            if (points.isEmpty()) return;
            int bucket = (points.size() + 999) / 1000;
            java.util.List<double[]> shown = new java.util.ArrayList<>();
            for (int i = 0; i < points.size(); i += bucket) {
                int end = Math.min(points.size(), i + bucket);
                double loss = 0;
                for (int j = i; j < end; j++) loss += points.get(j)[1];
                shown.add(new double[] {points.get(end - 1)[0], loss / (end - i)});
            }
            LossPlot.write(run.lossPlot(), shown, "training loss, " + run.root().getFileName());
        } catch (Exception e) {
            System.err.println("dit train: warning: could not draw " + run.lossPlot() + ": " + Errors.oneLine(e));
        }
    }

    private TrainOptions options() {
        TrainOptions o = new TrainOptions();
        o.dataPath = dataPath == null ? null : dataPath.toString();
        o.featuresPath = features == null ? null : features.toString();
        o.vaePath = vae == null ? null : vae.toAbsolutePath().toString();
        o.split = split;
        o.imageSize = imageSize;
        o.channels = channels;
        o.flip = !noFlip;
        o.skipBad = skipBad;
        o.numWorkers = numWorkers;
        o.noiseSchedule = noiseSchedule;
        o.diffusionSteps = diffusionSteps;
        o.globalBatchSize = globalBatchSize;
        o.steps = steps;
        o.epochs = epochs;
        o.lr = lr;
        o.weightDecay = weightDecay;
        o.emaDecay = emaDecay;
        o.emaWarmup = emaWarmup;
        o.warmupSteps = warmupSteps;
        o.lrSchedule = lrSchedule;
        o.minLrRatio = minLrRatio;
        o.gradClip = gradClip;
        o.gradCheckpoint = gradCheckpoint;
        o.globalSeed = globalSeed;
        o.precision = precision;
        o.resultsDir = resultsDir.toString();
        o.runDir = runDir == null ? null : runDir.toString();
        o.logEvery = logEvery;
        o.ckptEvery = ckptEvery;
        o.minutes = minutes;
        o.device = device;
        return o;
    }

    /** On resume the recorded options stand, except for how long to run and how often to log or save. */
    private void overrideForResume(TrainOptions o) {
        CommandLine.ParseResult pr = spec.commandLine().getParseResult();
        if (pr.hasMatchedOption("--steps")) o.steps = steps;
        if (pr.hasMatchedOption("--minutes")) o.minutes = minutes;
        if (pr.hasMatchedOption("--log-every")) o.logEvery = logEvery;
        if (pr.hasMatchedOption("--ckpt-every")) o.ckptEvery = ckptEvery;
        if (pr.hasMatchedOption("--num-workers")) o.numWorkers = numWorkers;
        if (pr.hasMatchedOption("--data-path")) o.dataPath = dataPath.toString();
    }

    /** The training data: images, a latent store, or images encoded by a VAE as they are read. */
    static ImageDataset openData(TrainOptions o) throws Exception {
        if (o.featuresPath != null) {
            LatentStore store = LatentStore.open(Path.of(o.featuresPath));
            o.latentScaling = store.scalingFactor();
            if (o.vaePath == null && store.manifest().has("vae_path")) o.vaePath = store.manifest().path("vae_path").asText();
            return store;
        }
        if (o.vaePath != null) {
            AutoencoderKL vae = VaeFiles.load(Path.of(o.vaePath), null);
            o.latentScaling = vae.config.scalingFactor();
            ImageDataset images = Datasets.open(o.dataPath, o.split, o.imageSize == 0 ? 256 : o.imageSize, vae.config.inChannels(), o.skipBad,
                    w -> System.err.println("dit train: warning: " + w));
            return new EncodingDataset(images, vae);
        }
        return Datasets.open(o.dataPath, o.split, o.imageSize, o.channels, o.skipBad,
                w -> System.err.println("dit train: warning: " + w));
    }

    static Path resolveCheckpoint(Path p) throws Exception {
        if (Files.isRegularFile(p)) return p;
        if (Files.isDirectory(p)) {
            return RunDir.of(p).latestCheckpoint().orElseThrow(() -> new CheckpointException(p + ": no checkpoints/NNNNNNN.pt in this run folder"));
        }
        throw new CheckpointException(p + ": no such checkpoint or run folder");
    }

    static void writeArgs(RunDir run, TrainOptions o, DiTConfig config) throws Exception {
        Map<String, Object> args = o.toMap();
        args.put("dit_config", new ObjectMapper().convertValue(config.toJson(), Map.class));
        byte[] json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsBytes(args);
        AtomicFiles.write(run.root().resolve("args.json"), out -> out.write(json));
    }
}
