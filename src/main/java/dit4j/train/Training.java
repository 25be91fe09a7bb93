package dit4j.train;

import dit4j.data.Datasets;
import dit4j.data.ImageDataset;
import dit4j.data.LatentStore;
import dit4j.dist.Job;
import dit4j.io.CheckpointException;
import dit4j.io.CheckpointFile;
import dit4j.model.DiTConfig;
import dit4j.runtime.Devices;
import dit4j.vae.AutoencoderKL;
import dit4j.vae.EncodingDataset;
import dit4j.vae.VaeFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;

/**
 * A training run ready to go: its options, data, model state and run folder. {@link #start} makes
 * a new run, {@link #resume} continues one from a checkpoint; {@link #run} is the loop. This is
 * what {@code dit train} and {@code dit demo} call; they only parse flags and print.
 */
public final class Training {
    public final TrainOptions options;
    public final ImageDataset data;
    public final TrainState state;
    public final RunDir run;
    public final Job job;
    private volatile Trainer trainer;
    private volatile boolean stopRequested;

    private Training(TrainOptions options, ImageDataset data, TrainState state, RunDir run, Job job) {
        this.options = options;
        this.data = data;
        this.state = state;
        this.run = run;
        this.job = job;
    }

    /**
     * A new run. {@code model} turns the data's shape (input size, channels, classes) into the
     * configuration; the run folder is {@code run_dir} or the next numbered one under
     * {@code results_dir}, made by rank 0 once the model exists.
     */
    public static Training start(TrainOptions o, ModelChoice model, Consumer<String> warn, Job job) throws Exception {
        o.validate();
        ImageDataset data = openData(o, warn);
        checkBatch(data, o, job);
        TrainEval.check(o);
        DiTConfig config = model.build(data.imageSize(), data.channels(), data.numClasses());
        o.model = config.displayName();
        o.classNames = data.classNames();
        TrainState state = TrainState.fresh(config, o, job.rank(), job.worldSize(), Devices.of(job.device(o.device)));
        RunDir run = new RunDir(job.folderFromRank0(() -> {
            RunDir r = o.runDir != null ? new RunDir(Path.of(o.runDir)) : RunDir.next(Path.of(o.resultsDir), config.displayName());
            if (r.latestCheckpoint().isPresent()) {
                throw new IllegalArgumentException(r.root() + " already holds checkpoints: pass --resume " + r.root() + " to continue it, or choose another --run-dir");
            }
            RunDir.create(r.root());
            r.writeArgs(o, config);
            return r.root();
        }));
        return new Training(o, data, state, run, job);
    }

    /** Before anything is made: the data must fill one batch on every rank. */
    private static void checkBatch(ImageDataset data, TrainOptions o, Job job) {
        int local = o.globalBatchSize / job.worldSize();
        if (local * job.worldSize() != o.globalBatchSize) {
            throw new dit4j.OptionException("--global-batch-size " + o.globalBatchSize + " is not divisible by the world size " + job.worldSize());
        }
        if (dit4j.data.DataLoader.batchesPerEpoch(data.size(), local, job.worldSize()) == 0) {
            throw new IllegalArgumentException("the dataset has " + data.size() + " images, fewer than one batch of " + local + " per rank: lower --global-batch-size");
        }
    }

    /** How the model's configuration follows from the data. */
    public interface ModelChoice {
        DiTConfig build(int inputSize, int channels, int numClasses);
    }

    /**
     * Continues the run of a checkpoint (or the latest one of a run folder). The recorded options
     * stand; {@code overrides} may change how long to run, how often to log or save, and the device.
     */
    public static Training resume(Path checkpointOrRun, UnaryOperator<TrainOptions> overrides, Long newTotalSteps, Consumer<String> warn, Job job) throws Exception {
        Path ckpt = resolveCheckpoint(checkpointOrRun);
        CheckpointFile file = CheckpointFile.read(ckpt, true);
        TrainOptions o = overrides.apply(TrainState.optionsOf(file));
        try {
            o.validate();
        } catch (dit4j.OptionException e) {
            throw new CheckpointException(ckpt + ": its recorded options are out of range: " + e.getMessage());
        }
        DiTConfig config;
        try {
            config = DiTConfig.fromJson(new com.fasterxml.jackson.databind.ObjectMapper().valueToTree(file.args().get("dit_config")));
        } catch (IllegalArgumentException e) {
            throw new CheckpointException(ckpt + ": args.dit_config: " + e.getMessage());
        }
        ImageDataset data = openData(o, warn);
        checkBatch(data, o, job);
        TrainEval.check(o);
        TrainState state = TrainState.resume(ckpt, o, config, Devices.of(job.device(o.device)));
        if (job.worldSize() > 1) state.reseedForRank(o.globalSeed, job.rank(), job.worldSize());
        // A new length given on resume replaces the recorded one (the schedule then spans the new length).
        if (newTotalSteps != null) state.totalSteps = newTotalSteps;
        if (state.step >= state.totalSteps) {
            throw new IllegalArgumentException(ckpt + " is at step " + state.step + ", the end of its run: pass --steps N (N > " + state.step + ") to train further");
        }
        RunDir run = RunDir.of(ckpt);
        if (job.writes()) {
            run.removeStaleTemporaries();
            run.writeArgs(o, config);
        }
        return new Training(o, data, state, run, job);
    }

    /** Runs the loop to its end, a stop request or the time budget, then draws the loss plot. */
    public Trainer.Result run(Trainer.Listener listener) throws Exception {
        dit4j.dist.DataParallel dp = job.dataParallel(state.params);
        trainer = new Trainer(options, data, run, state, listener, new Trainer.Ranks(job.rank(), job.worldSize())).dataParallel(dp);
        if (options.evaluates()) {
            dit4j.eval.ChunkedPass.Reduce reduce = dp == null ? dit4j.eval.ChunkedPass.Reduce.NONE : t -> dp.group().allReduceSum(t, "gathering the evaluation's Inception features");
            trainer.evaluation(TrainEval.open(options, run, job.rank(), job.worldSize(), reduce, listener::onMessage));
        }
        if (stopRequested) trainer.requestStop();
        Trainer.Result result = trainer.run();
        if (job.writes()) {
            drawLossPlot(listener::onMessage);
            TrainEval.drawPlot(run, listener::onMessage);
        }
        return result;
    }

    /** Asks a running loop to save a checkpoint and return (Ctrl-C, SIGTERM). */
    public void requestStop() {
        stopRequested = true;
        Trainer t = trainer;
        if (t != null) t.requestStop();
    }

    /** Draws loss.png from the run's log, averaged down to at most 1000 points. */
    public void drawLossPlot(Consumer<String> warn) {
        try {
            List<double[]> points = TrainLog.readLoss(run.log());
            if (points.isEmpty()) return;
            int bucket = (points.size() + 999) / 1000;
            List<double[]> shown = new ArrayList<>();
            for (int i = 0; i < points.size(); i += bucket) {
                int end = Math.min(points.size(), i + bucket);
                double loss = 0;
                for (int j = i; j < end; j++) loss += points.get(j)[1];
                shown.add(new double[] {points.get(end - 1)[0], loss / (end - i)});
            }
            LossPlot.write(run.lossPlot(), shown, "training loss, " + run.root().getFileName());
        } catch (Exception e) {
            warn.accept("warning: could not draw " + run.lossPlot() + ": " + e.getMessage());
        }
    }

    /** The training data: images, a latent store, or images encoded by a VAE as they are read. */
    public static ImageDataset openData(TrainOptions o, Consumer<String> warn) throws Exception {
        if (o.featuresPath != null) {
            LatentStore store = LatentStore.open(Path.of(o.featuresPath));
            o.latentScaling = store.scalingFactor();
            if (o.vaePath == null && store.manifest().has("vae_path")) o.vaePath = store.manifest().path("vae_path").asText();
            return store;
        }
        if (o.dataPath == null) throw new IllegalArgumentException("--data-path or --features is required");
        if (o.vaePath != null) {
            AutoencoderKL vae = VaeFiles.load(Path.of(o.vaePath), o.vaeConfigPath == null ? null : Path.of(o.vaeConfigPath));
            o.latentScaling = vae.config.scalingFactor();
            ImageDataset images = Datasets.open(o.dataPath, o.split, o.imageSize == 0 ? 256 : o.imageSize, vae.config.inChannels(), o.skipBad, warn);
            return new EncodingDataset(images, vae);
        }
        return Datasets.open(o.dataPath, o.split, o.imageSize, o.channels, o.skipBad, warn);
    }

    /** A checkpoint file, or the latest checkpoint of a run folder. */
    public static Path resolveCheckpoint(Path p) throws Exception {
        if (Files.isRegularFile(p)) return p;
        if (Files.isDirectory(p)) {
            return RunDir.of(p).latestCheckpoint().orElseThrow(() -> new CheckpointException(p + ": no checkpoints/NNNNNNN.pt in this run folder"));
        }
        throw new CheckpointException(p + ": no such checkpoint or run folder");
    }
}
