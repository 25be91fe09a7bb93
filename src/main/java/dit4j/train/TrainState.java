package dit4j.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import dit4j.io.CheckpointException;
import dit4j.io.CheckpointFile;
import dit4j.io.PtWriter;
import dit4j.io.StateDicts;
import dit4j.model.DiT;
import dit4j.model.DiTConfig;
import dit4j.runtime.Devices;
import dit4j.runtime.Step;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * The long-lived state of a training run (model, EMA, optimizer, generator, position in the data)
 * and its checkpoint format: the official {@code model}/{@code ema}/{@code opt}/{@code args}
 * entries, readable by the official {@code sample.py}, plus {@code train_state} for exact resume.
 *
 * <p>Created outside any {@link dit4j.runtime.Step}.
 */
public final class TrainState {
    public final DiTConfig config;
    public final DiT model;
    public final DiT ema;
    public final List<Tensor> params;
    public final AdamW opt;
    public final Ema emaUpdater;
    /** Where the model, EMA and optimizer state live and the steps compute ({@code --device}). */
    public final Device device;
    /** Draws timesteps, noise and label dropout, in the official order; a CPU generator on every device. */
    public final Generator rng;
    public long step;
    public long epoch;
    public int batchInEpoch;
    public long imagesSeen;
    /** The schedule's length, fixed when the run starts (a time budget turns into steps). */
    public long totalSteps;

    private TrainState(DiTConfig config, TrainOptions o, Generator rng, Device device) {
        this.config = config;
        this.rng = rng;
        this.device = device;
        // Initialised on the CPU from the seed, then moved, as the official code does: the same
        // start on every device. Moved before AdamW makes its moments (zeros_like follows each parameter).
        this.model = DiT.create(config, rng).moveTo(device);
        model.useGenerator(rng);
        this.ema = new DiT(config).moveTo(device);
        this.params = new ArrayList<>(StateDicts.of(model).values());
        List<Tensor> emaParams = new ArrayList<>(StateDicts.of(ema).values());
        for (Tensor p : emaParams) p.requires_grad_(false);
        this.opt = AdamW.of(params, o.lr, o.weightDecay);
        this.emaUpdater = new Ema(emaParams, params);
        emaUpdater.copyFromModel();
        model.train(true);
        ema.eval();
    }

    /** A new run on {@code o.device}; the seed per rank is the official {@code global_seed * world_size + rank}. */
    public static TrainState fresh(DiTConfig config, TrainOptions o, int rank, int worldSize) {
        return fresh(config, o, rank, worldSize, Devices.of(o.device));
    }

    /** A new run on this rank's device. */
    public static TrainState fresh(DiTConfig config, TrainOptions o, int rank, int worldSize, Device device) {
        return new TrainState(config, o, torch.createCPUGenerator(o.globalSeed * worldSize + rank), device);
    }

    /**
     * A checkpoint holds rank 0's generator. Resumed with several ranks, rank 0 continues it and
     * every other rank draws from a fresh stream of its own, fixed by (seed, world, rank, step),
     * so that no two ranks share noise (the data order is restored exactly; these draws are not).
     */
    public void reseedForRank(long globalSeed, int rank, int worldSize) {
        if (rank == 0) return;
        rng.set_current_seed((globalSeed * worldSize + rank) ^ (step * 0x9E3779B97F4A7C15L));
    }

    // ------------------------------------------------------------------ checkpoints

    /** Writes a checkpoint; tensors on another device are written from CPU copies, freed on return. */
    public void save(Path file, TrainOptions o) throws IOException {
        try (Step s = Step.open()) {
            write(file, o);
        }
    }

    private void write(Path file, TrainOptions o) throws IOException {
        Map<String, Object> args = o.toMap();
        args.put("dit_config", new ObjectMapper().convertValue(config.toJson(), Map.class));
        Map<String, Object> ts = new LinkedHashMap<>();
        ts.put("format", "dit4j-train-1");
        ts.put("step", step);
        ts.put("epoch", epoch);
        ts.put("batch_in_epoch", batchInEpoch);
        ts.put("images_seen", imagesSeen);
        ts.put("total_steps", totalSteps);
        ts.put("rng_state", rng.get_state());
        Map<String, Object> ck = new LinkedHashMap<>();
        ck.put("model", PtWriter.ordered(StateDicts.of(model)));
        ck.put("ema", PtWriter.ordered(StateDicts.of(ema)));
        ck.put("opt", opt.stateDict());
        ck.put("args", args);
        ck.put("train_state", ts);
        PtWriter.save(file, ck);
    }

    /** Options recorded in a dit4j training checkpoint. */
    public static TrainOptions optionsOf(CheckpointFile f) throws CheckpointException {
        if (!(f.top().get("train_state") instanceof Map)) {
            throw new CheckpointException(f.path() + ": not a dit4j training checkpoint (no train_state); it can be sampled from but not resumed");
        }
        return TrainOptions.fromMap(f.args());
    }

    /** Restores a run from one of its checkpoints, on {@code o.device}. */
    public static TrainState resume(Path file, TrainOptions o, DiTConfig config) throws IOException {
        return resume(file, o, config, Devices.of(o.device));
    }

    /**
     * Restores a run on {@code device}: the checkpoint is read into CPU tensors and copied into the
     * model, EMA and optimizer state there, so a run moves between devices.
     */
    public static TrainState resume(Path file, TrainOptions o, DiTConfig config, Device device) throws IOException {
        CheckpointFile f = CheckpointFile.read(file, true);
        Map<?, ?> ts = (Map<?, ?>) f.top().get("train_state");
        if (ts == null) throw new CheckpointException(file + ": not a dit4j training checkpoint (no train_state)");
        TrainState s = new TrainState(config, o, torch.createCPUGenerator(0), device);
        s.model.load(f.section("model"), file + " [model]");
        s.ema.load(f.section("ema"), file + " [ema]");
        if (!(f.top().get("opt") instanceof Map<?, ?> opt)) throw new CheckpointException(file + ": has no optimizer state 'opt'");
        try {
            s.opt.loadStateDict(opt, file.toString());
        } catch (IllegalArgumentException | ClassCastException e) {
            throw new CheckpointException(file + ": bad optimizer state: " + e.getMessage());
        }
        s.step = number(ts, "step", file);
        s.epoch = number(ts, "epoch", file);
        s.batchInEpoch = (int) number(ts, "batch_in_epoch", file);
        s.imagesSeen = number(ts, "images_seen", file);
        s.totalSteps = number(ts, "total_steps", file);
        if (!(ts.get("rng_state") instanceof Tensor rngState)) throw new CheckpointException(file + ": train_state has no rng_state");
        s.rng.set_state(rngState.contiguous());
        return s;
    }

    private static long number(Map<?, ?> m, String key, Path file) throws CheckpointException {
        if (!(m.get(key) instanceof Number n)) throw new CheckpointException(file + ": train_state has no '" + key + "'");
        return n.longValue();
    }
}
