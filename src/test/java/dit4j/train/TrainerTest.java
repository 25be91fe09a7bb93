package dit4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dit4j.TinyData;
import dit4j.data.ImageDataset;
import dit4j.io.StateDicts;
import dit4j.model.DiTConfig;
import dit4j.runtime.Tensors;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainerTest {
    @TempDir
    Path tmp;

    static final DiTConfig TINY = new DiTConfig(8, 2, 1, 32, 2, 2, 4.0, 0.1, 4, true);

    static TrainOptions options(long steps, long ckptEvery) {
        TrainOptions o = new TrainOptions();
        o.globalBatchSize = 8;
        o.steps = steps;
        o.ckptEvery = ckptEvery;
        o.logEvery = 2;
        o.lr = 1e-3;
        o.warmupSteps = 3;
        o.lrSchedule = "cosine";
        o.emaDecay = 0.99;
        o.emaWarmup = true;
        o.gradClip = 1.0;
        o.globalSeed = 11;
        return o;
    }

    /** Runs and returns the per-step losses. */
    static List<Double> train(TrainOptions o, ImageDataset data, RunDir run, TrainState state) throws Exception {
        List<Double> losses = new ArrayList<>();
        new Trainer(o, data, run, state, new Trainer.Listener() {
            @Override
            public void onStep(Trainer.StepStats s) {
                losses.add(s.loss());
            }
        }, Trainer.Ranks.SINGLE).run();
        return losses;
    }

    @Test
    void resumedRunFollowsTheUninterruptedOne() throws Exception {
        // 20 images, batch 8: 2 batches per epoch, so the resume point sits mid-epoch and across epochs.
        ImageDataset data = TinyData.memory(20, 8, 4, 3);
        TrainOptions o = options(12, 5);
        RunDir full = RunDir.create(tmp.resolve("full"));
        TrainState a = TrainState.fresh(TINY, o, 0, 1);
        List<Double> uninterrupted = train(o, data, full, a);
        assertEquals(12, uninterrupted.size());

        Path ckpt = full.checkpoint(5);
        assertTrue(Files.exists(ckpt));
        RunDir resumedRun = RunDir.create(tmp.resolve("resumed"));
        TrainState b = TrainState.resume(ckpt, o, TINY);
        assertEquals(5, b.step);
        List<Double> resumed = train(o, data, resumedRun, b);
        assertEquals(uninterrupted.subList(5, 12), resumed, "losses after resume must equal the uninterrupted run's");
        for (var e : StateDicts.of(a.ema).entrySet()) {
            Tensor other = StateDicts.of(b.ema).get(e.getKey());
            assertArrayEquals(Tensors.toFloats(e.getValue()), Tensors.toFloats(other), e.getKey());
        }
    }

    @Test
    void aNonFiniteLossStopsWithTheLastGoodCheckpoint() throws Exception {
        // Three good batches of 8, then the data turns to NaN: the fourth step's loss is NaN.
        ImageDataset data = TinyData.memory(20, 8, 4, 3, 3 * 8);
        TrainOptions o = options(50, 1);
        RunDir run = RunDir.create(tmp.resolve("nan"));
        Trainer.DivergedException e = assertThrows(Trainer.DivergedException.class,
                () -> train(o, data, run, TrainState.fresh(TINY, o, 0, 1)));
        assertEquals("loss is NaN at step 4; stopping. Last good checkpoint: " + run.checkpoint(3), e.getMessage());
        assertTrue(!Files.exists(run.checkpoint(4)), "no checkpoint of the diverged state");
        TrainState restored = TrainState.resume(run.checkpoint(3), o, TINY);
        for (Tensor t : StateDicts.of(restored.model).values()) assertTrue(Tensors.toFloats(t.isfinite().all().to(org.bytedeco.pytorch.global.torch.ScalarType.Float))[0] == 1f);
    }

    @Test
    void runFolderHoldsCheckpointsLogAndArgs() throws Exception {
        ImageDataset data = TinyData.memory(16, 8, 4, 5);
        TrainOptions o = options(6, 4);
        RunDir run = RunDir.create(RunDir.next(tmp.resolve("results"), TINY.displayName()).root());
        assertTrue(run.root().getFileName().toString().startsWith("000-DiT-"), run.root().toString());
        train(o, data, run, TrainState.fresh(TINY, o, 0, 1));
        assertTrue(Files.exists(run.checkpoint(4)) && Files.exists(run.checkpoint(6)));
        assertEquals(3, TrainLog.readLoss(run.log()).size());
        assertEquals(run.checkpoint(6), run.latestCheckpoint().orElseThrow());
        assertEquals(run.root(), RunDir.of(run.checkpoint(6)).root());
        // official sample.py reads 'ema' from our checkpoints; the raw model and optimizer are there too
        var f = dit4j.io.CheckpointFile.read(run.checkpoint(6), true);
        assertEquals("ema", f.weightsKey());
        assertTrue(f.top().containsKey("model") && f.top().containsKey("opt") && f.top().containsKey("args"));
    }
}
