package dit4j.dist;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dit4j.TinyData;
import dit4j.data.ImageDataset;
import dit4j.model.DiTConfig;
import dit4j.train.RunDir;
import dit4j.train.TrainOptions;
import dit4j.train.TrainState;
import dit4j.train.Trainer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The trainer on 2 ranks: every way of stopping is agreed on, so no rank is left in a collective. */
class TrainerDataParallelTest {
    @TempDir
    Path tmp;

    static final DiTConfig TINY = new DiTConfig(8, 2, 1, 32, 2, 2, 4.0, 0.1, 4, true);

    static TrainOptions options() {
        TrainOptions o = new TrainOptions();
        o.globalBatchSize = 8;
        o.steps = 100_000;
        o.ckptEvery = 100_000;
        o.logEvery = 5;
        o.lr = 1e-3;
        return o;
    }

    @Test
    void aStopRequestedOnOneRankStopsBothAtTheSameStep() throws Exception {
        ImageDataset data = TinyData.memory(32, 8, 4, 1);
        RunDir run = RunDir.create(tmp.resolve("run"));
        TrainOptions o = options();
        List<Trainer.Result> results = Loopback.run(2, g -> {
            TrainState s = TrainState.fresh(TINY, o, g.rank(), 2);
            Trainer[] t = new Trainer[1];
            t[0] = new Trainer(o, data, run, s, new Trainer.Listener() {
                @Override
                public void onStep(Trainer.StepStats st) {
                    if (g.rank() == 1 && st.step() == 7) t[0].requestStop();   // Ctrl-C reaching one rank only
                }
            }, new Trainer.Ranks(g.rank(), 2)).dataParallel(new DataParallel(g, s.params));
            try {
                return t[0].run();
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        // Asked after step 7's agreement, so both finish step 8 and stop there.
        for (Trainer.Result r : results) {
            assertEquals(8, r.state().step);
            assertTrue(r.stoppedEarly());
        }
        assertEquals(run.checkpoint(8), run.latestCheckpoint().orElseThrow());
        assertTrue(results.get(1).lastCheckpoint() == null, "only rank 0 writes");
        String log = Files.readString(run.log());
        assertTrue(log.contains("{\"step\":8,\"world_size\":2,\"replicas_digest\":"), log);
    }

    @Test
    void aTimeBudgetEndsBothRanksAtTheSameStep() throws Exception {
        ImageDataset data = TinyData.memory(32, 8, 4, 2);
        RunDir run = RunDir.create(tmp.resolve("run"));
        TrainOptions o = options();
        o.minutes = 0.1;
        List<Long> steps = Loopback.run(2, g -> {
            TrainState s = TrainState.fresh(TINY, o, g.rank(), 2);
            try {
                return new Trainer(o, data, run, s, new Trainer.Listener() {}, new Trainer.Ranks(g.rank(), 2))
                        .dataParallel(new DataParallel(g, s.params)).run().state().step;
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        assertEquals(steps.get(0), steps.get(1));
        assertTrue(steps.get(0) > 10, "trained " + steps.get(0) + " steps");
        assertEquals(run.checkpoint(steps.get(0)), run.latestCheckpoint().orElseThrow());
    }
}
