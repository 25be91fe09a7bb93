package dit4j.dist;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dit4j.TinyData;
import dit4j.data.DataLoader;
import dit4j.data.ImageDataset;
import dit4j.data.ShardedSampler;
import dit4j.model.DiTConfig;
import dit4j.train.RunDir;
import dit4j.train.TrainOptions;
import dit4j.train.TrainState;
import dit4j.train.Trainer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A checkpoint records the position in the data as (epoch, global batches done in it). Global
 * batch k of an epoch is the same set of images for every world size, so a run resumed with
 * another number of ranks goes on with the images the original run would have seen next.
 */
class ResumeAcrossWorldSizesTest {
    @TempDir
    Path tmp;

    @Test
    void globalBatchKHoldsTheSameImagesForEveryWorldSize() {
        int n = 37, global = 8;
        for (long epoch = 0; epoch < 3; epoch++) {
            int[] one = new ShardedSampler(n, 5, 0, 1).epoch(epoch);
            for (int world : new int[] {2, 4, 8}) {
                int local = global / world;
                int batches = Math.min(DataLoader.batchesPerEpoch(n, global, 1), DataLoader.batchesPerEpoch(n, local, world));
                for (int k = 0; k < batches; k++) {
                    int[] union = new int[global];
                    for (int r = 0; r < world; r++) {
                        int[] mine = new ShardedSampler(n, 5, r, world).epoch(epoch);
                        System.arraycopy(mine, k * local, union, r * local, local);
                    }
                    int[] expected = Arrays.copyOfRange(one, k * global, (k + 1) * global);
                    Arrays.sort(union);
                    Arrays.sort(expected);
                    assertArrayEquals(expected, union, "epoch " + epoch + ", world " + world + ", global batch " + k);
                }
            }
        }
    }

    @Test
    void aOneRankCheckpointResumesOnTwoRanks() throws Exception {
        DiTConfig tiny = new DiTConfig(8, 2, 1, 32, 2, 2, 4.0, 0.1, 4, true);
        ImageDataset data = TinyData.memory(20, 8, 4, 3);
        TrainOptions o = new TrainOptions();
        o.globalBatchSize = 8;
        o.steps = 5;
        o.ckptEvery = 5;
        o.logEvery = 1;
        o.lr = 1e-3;
        o.globalSeed = 3;
        RunDir first = RunDir.create(tmp.resolve("one"));
        new Trainer(o, data, first, TrainState.fresh(tiny, o, 0, 1), new Trainer.Listener() {}, Trainer.Ranks.SINGLE).run();

        RunDir second = RunDir.create(tmp.resolve("two"));
        TrainOptions more = o.copy();
        more.steps = 9;
        List<long[]> positions = Loopback.run(2, g -> {
            try {
                TrainState s = TrainState.resume(first.checkpoint(5), more, tiny);
                s.totalSteps = 9;
                s.reseedForRank(more.globalSeed, g.rank(), 2);
                Trainer t = new Trainer(more, data, second, s, new Trainer.Listener() {}, new Trainer.Ranks(g.rank(), 2))
                        .dataParallel(new DataParallel(g, s.params));
                Trainer.Result r = t.run();
                return new long[] {r.state().step, r.state().epoch, r.state().batchInEpoch};
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        // 20 images, global batch 8: 2 global batches per epoch at either world size; 9 steps end in epoch 4 after batch 1.
        for (long[] p : positions) assertArrayEquals(new long[] {9, 4, 1}, p);
        assertEquals(second.checkpoint(9), second.latestCheckpoint().orElseThrow());
    }
}
