package dit4j.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import dit4j.data.DataLoader;
import dit4j.dist.DataParallel;
import dit4j.data.ImageDataset;
import dit4j.diffusion.GaussianDiffusion;
import dit4j.runtime.Precision;
import dit4j.runtime.Step;
import dit4j.runtime.Tensors;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The training loop of the official {@code train.py}: sample t, {@code training_losses}, backward,
 * AdamW, EMA update; one native scope per step; rank 0 writes the JSONL log and the checkpoints.
 */
public final class Trainer {

    /** What the loop reports; the command line turns it into a progress bar. */
    public interface Listener {
        default void onStart(TrainState state, RunDir run) {}

        default void onStep(StepStats stats) {}

        default void onCheckpoint(Path file, long step) {}

        default void onMessage(String message) {}
    }

    /** One step's numbers: the loss of this step, its running mean, learning rate and throughput. */
    public record StepStats(long step, long totalSteps, double loss, double smoothedLoss, double lr, double imagesPerSec, double elapsedSec, double etaSec) {}

    /** How the loop ended. */
    public record Result(TrainState state, Path lastCheckpoint, boolean stoppedEarly, double finalLoss) {}

    /** The loss stopped being finite. */
    public static final class DivergedException extends RuntimeException {
        public DivergedException(String message) {
            super(message);
        }
    }

    /** Rank and world size of data-parallel training; more than one rank needs {@link #dataParallel}. */
    public record Ranks(int rank, int worldSize) {
        public static final Ranks SINGLE = new Ranks(0, 1);

        boolean writes() {
            return rank == 0;
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private final TrainOptions o;
    private final ImageDataset data;
    private final RunDir run;
    private final TrainState state;
    private final Listener listener;
    private final Ranks ranks;
    private volatile boolean stopRequested;
    private DataParallel dp;
    private TrainEval eval;

    public Trainer(TrainOptions o, ImageDataset data, RunDir run, TrainState state, Listener listener, Ranks ranks) {
        this.o = o;
        this.data = data;
        this.run = run;
        this.state = state;
        this.listener = listener;
        this.ranks = ranks;
    }

    /**
     * Trains data-parallel over a process group: the replicas start from rank 0's weights, the
     * gradients are averaged every step, stopping is agreed on, and each checkpoint step compares
     * a digest of the replicas (recorded in the log).
     */
    public Trainer dataParallel(DataParallel dp) {
        if (dp != null && dp.group().worldSize() != ranks.worldSize()) throw new IllegalArgumentException("the process group has " + dp.group().worldSize() + " ranks, the trainer " + ranks.worldSize());
        this.dp = dp;
        return this;
    }

    /** Evaluates FID every {@code eval_every} steps and at the end (all ranks take part). */
    public Trainer evaluation(TrainEval e) {
        this.eval = e;
        return this;
    }

    /** Asks the loop to finish the current step, save a checkpoint and return (Ctrl-C). */
    public void requestStop() {
        stopRequested = true;
    }

    public Result run() throws IOException {
        int localBatch = o.globalBatchSize / ranks.worldSize();
        if (localBatch * ranks.worldSize() != o.globalBatchSize) {
            throw new IllegalArgumentException("--global-batch-size " + o.globalBatchSize + " is not divisible by the world size " + ranks.worldSize());
        }
        GaussianDiffusion diffusion = o.diffusion(state.config.learnSigma()).create("");
        Precision precision = Precision.parse(o.precision);
        dit4j.runtime.Threads.configureFor(precision);
        TrainStep trainStep = new TrainStep(state, diffusion, precision, o.gradClip, o.gradCheckpoint);
        if (o.objective.equals("flow")) trainStep.flow(o.transport(), dit4j.flow.TimeSampling.parse(o.flowTimeSampling));
        if (ranks.worldSize() > 1 && dp == null) throw new IllegalStateException("world size " + ranks.worldSize() + " needs a process group (Trainer.dataParallel)");
        if (dp != null) {
            dp.broadcastFromRank0(state.params, "the model");
            dp.broadcastFromRank0(new ArrayList<>(dit4j.io.StateDicts.of(state.ema).values()), "the EMA");
            trainStep.afterBackward(dp::averageGradients);
        }
        int c = data.channels(), s = data.imageSize();
        if (c != state.config.inChannels() || s != state.config.inputSize()) {
            throw new IllegalArgumentException("the data gives " + c + "x" + s + "x" + s + " images but the model takes " + state.config.inChannels() + "x" + state.config.inputSize() + "x" + state.config.inputSize());
        }
        long deadline = o.minutes > 0 ? System.nanoTime() + (long) (o.minutes * 60e9) : Long.MAX_VALUE;
        try (DataLoader loader = new DataLoader(data, localBatch, o.globalSeed, ranks.rank(), ranks.worldSize(), o.flip, o.numWorkers)) {
            if (state.totalSteps == 0) state.totalSteps = o.steps > 0 ? o.steps : (long) o.epochs * loader.batchesPerEpoch();
            boolean calibrate = o.minutes > 0 && state.step == 0;
            long budgetCap = state.totalSteps;
            long calibrationStart = 0;
            loader.seek(state.epoch, state.batchInEpoch);
            if (ranks.writes()) truncateLog(state.step);
            listener.onStart(state, run);

            LrSchedule schedule = LrSchedule.of(o, state.totalSteps);
            Path lastCheckpoint = null;
            List<double[]> window = new ArrayList<>();
            long start = System.nanoTime(), windowStart = start;
            long startStep = state.step;
            double smoothed = Double.NaN, lastLoss = Double.NaN;
            while (state.step < state.totalSteps) {
                long done = state.step - startStep;
                if (calibrate && (done == 10 || done == 50 || done == 200 || (done > 0 && done % 500 == 0))) {
                    // A time budget becomes a step count once the speed is known, so the schedule can
                    // end on time. Re-estimated as the run goes (the JIT and allocator warm up, the
                    // machine's load changes), with a small margin so the schedule finishes.
                    if (done == 10) calibrationStart = System.nanoTime();
                    double perStep = done == 10 ? (System.nanoTime() - start) / 1e9 / 10 : (System.nanoTime() - calibrationStart) / 1e9 / (done - 10);
                    long fit = state.step + (long) (0.98 * (deadline - System.nanoTime()) / 1e9 / perStep);
                    long total = Math.max(state.step + 1, Math.min(budgetCap, fit));
                    if (dp != null) total = dp.minAcross(total, "agreeing on the step count (step " + state.step + ")");
                    if (total != state.totalSteps) {
                        state.totalSteps = total;
                        schedule = LrSchedule.of(o, state.totalSteps);
                        if (done <= 1000) listener.onMessage(String.format("time budget %.1f min: %d steps at %.3f s/step", o.minutes, state.totalSteps, perStep));
                    }
                }
                double lr = schedule.at(state.step + 1);
                double[] terms = step(loader, trainStep, lr, localBatch);
                state.step++;
                state.imagesSeen += o.globalBatchSize;
                lastLoss = terms[0];
                boolean outOfTime = System.nanoTime() > deadline;
                boolean stop = stopRequested || outOfTime, diverged = !Double.isFinite(lastLoss);
                if (dp != null) {
                    // Every rank must leave the loop at the same step, or the others wait in a collective.
                    boolean[] any = dp.anyAcross("agreeing on stopping (step " + state.step + ")", stop, diverged);
                    stop = any[0];
                    diverged = any[1];
                }
                if (diverged) {
                    throw new DivergedException(String.format("loss is %s at step %d; stopping. Last good checkpoint: %s",
                            Double.isFinite(lastLoss) ? "not finite on another rank" : lastLoss, state.step, lastCheckpoint == null ? "none yet (lower --lr or add --grad-clip)" : lastCheckpoint));
                }
                smoothed = Double.isNaN(smoothed) ? lastLoss : 0.98 * smoothed + 0.02 * lastLoss;
                window.add(terms);
                double elapsed = (System.nanoTime() - start) / 1e9;
                double ips = (state.step - startStep) * (double) o.globalBatchSize / elapsed;
                double eta = (state.totalSteps - state.step) * elapsed / (state.step - startStep);
                listener.onStep(new StepStats(state.step, state.totalSteps, lastLoss, smoothed, lr, ips, elapsed, eta));

                boolean last = state.step == state.totalSteps || stop;
                // The last record also flushes a partial window, so a run stopped early logs its last steps.
                if (state.step % o.logEvery == 0 || last) {
                    double secs = (System.nanoTime() - windowStart) / 1e9;
                    double windowIps = window.size() * (double) o.globalBatchSize / secs;
                    if (dp != null) window = new ArrayList<>(List.of(dp.meanAcross(mean(window), "averaging the logged loss (step " + state.step + ")")));
                    if (ranks.writes()) appendLog(window, lr, windowIps, elapsed);
                    window.clear();
                    windowStart = System.nanoTime();
                }
                if (state.step % o.ckptEvery == 0 || last) {
                    if (dp != null) {
                        String digest = dp.checkReplicas(state.params, state.step);
                        if (ranks.writes()) {
                            Map<String, Object> rec = new LinkedHashMap<>();
                            rec.put("step", state.step);
                            rec.put("world_size", ranks.worldSize());
                            rec.put("replicas_digest", digest);
                            rec.put("grad_sync_ms_per_step", dp.gradientNanos() / 1e6 / Math.max(1, dp.gradientSteps()));
                            appendRecord(rec);
                        }
                    }
                    if (ranks.writes()) {
                        lastCheckpoint = run.checkpoint(state.step);
                        state.save(lastCheckpoint, o);
                        listener.onCheckpoint(lastCheckpoint, state.step);
                    }
                }
                // After the checkpoint, so a failing evaluation loses no training. Not on a stop request mid-run: exit promptly.
                boolean end = state.step == state.totalSteps;
                if (eval != null && (end || (!stop && o.evalEvery > 0 && state.step % o.evalEvery == 0))) {
                    long t0 = System.nanoTime();
                    Map<String, Object> rec = eval.evaluate(state);
                    if (ranks.writes()) {
                        appendRecord(rec);
                        listener.onMessage(String.format("eval step %d: FID %.4g, IS %.4g (%d samples, %.1f s)", state.step, (Double) rec.get("fid"),
                                (Double) rec.get("inception_score"), o.evalSamples, (Double) rec.get("seconds")));
                        TrainEval.drawPlot(run, listener::onMessage);
                    }
                    windowStart += System.nanoTime() - t0; // the logged throughput stays the training's
                }
                if (stop) {
                    if (outOfTime && state.step < state.totalSteps) listener.onMessage("time budget reached at step " + state.step);
                    return new Result(state, lastCheckpoint, state.step < state.totalSteps, lastLoss);
                }
            }
            return new Result(state, lastCheckpoint, false, lastLoss);
        }
    }

    /** One step on the next batch; returns {loss, mse, vb}. */
    private double[] step(DataLoader loader, TrainStep trainStep, double lr, int batch) throws IOException {
        try (Step s = Step.open()) {
            DataLoader.Batch b = loader.next();
            int ch = data.channels(), size = data.imageSize();
            double[] terms = trainStep.run(Tensors.floats(b.x(), batch, ch, size, size), Tensors.longs(b.y(), batch), lr,
                    LrSchedule.emaDecay(o.emaDecay, o.emaWarmup, state.step));
            state.epoch = b.epoch();
            state.batchInEpoch = b.indexInEpoch() + 1;
            return terms;
        }
    }

    private static double[] mean(List<double[]> window) {
        double[] m = new double[3];
        for (double[] w : window) for (int i = 0; i < 3; i++) m[i] += w[i] / window.size();
        return m;
    }

    private void appendRecord(Map<String, Object> rec) throws IOException {
        Files.writeString(run.log(), JSON.writeValueAsString(rec) + "\n", StandardCharsets.UTF_8,
                StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }

    private void appendLog(List<double[]> window, double lr, double imagesPerSec, double elapsed) throws IOException {
        double loss = 0, mse = 0, vb = 0;
        for (double[] w : window) {
            loss += w[0];
            mse += w[1];
            vb += w[2];
        }
        int n = window.size();
        Map<String, Object> rec = new LinkedHashMap<>();
        rec.put("step", state.step);
        rec.put("epoch", state.epoch);
        rec.put("loss", loss / n);
        rec.put("mse", mse / n);
        rec.put("vb", vb / n);
        rec.put("lr", lr);
        rec.put("images_per_s", imagesPerSec);
        rec.put("elapsed_s", elapsed);
        Files.writeString(run.log(), JSON.writeValueAsString(rec) + "\n", StandardCharsets.UTF_8,
                StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }

    /** On resume, drop log records from beyond the checkpoint, so the log reads as one run. */
    private void truncateLog(long step) throws IOException {
        if (!Files.exists(run.log())) return;
        List<String> keep = new ArrayList<>();
        for (String line : Files.readAllLines(run.log())) {
            if (line.isBlank()) continue;
            try {
                if (JSON.readTree(line).path("step").asLong() <= step) keep.add(line);
            } catch (IOException e) {
                // a torn last line from a killed run
            }
        }
        dit4j.io.AtomicFiles.write(run.log(), out -> out.write((String.join("\n", keep) + (keep.isEmpty() ? "" : "\n")).getBytes(StandardCharsets.UTF_8)));
    }
}
