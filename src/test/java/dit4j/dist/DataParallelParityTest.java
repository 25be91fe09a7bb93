package dit4j.dist;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dit4j.diffusion.DiffusionConfig;
import dit4j.diffusion.GaussianDiffusion;
import dit4j.io.StateDicts;
import dit4j.model.DiTConfig;
import dit4j.runtime.Precision;
import dit4j.runtime.Step;
import dit4j.runtime.Tensors;
import dit4j.train.TrainOptions;
import dit4j.train.TrainState;
import dit4j.train.TrainStep;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;

/**
 * The property data parallelism rests on: 2 ranks, each with half of every batch, end with the
 * parameters of 1 rank trained on the whole batch with the same images, timesteps and noise.
 */
class DataParallelParityTest {
    // No label dropout: it would draw from each rank's own generator.
    static final DiTConfig TINY = new DiTConfig(8, 2, 1, 32, 2, 2, 4.0, 0.0, 4, true);
    static final int BATCH = 8, STEPS = 6;

    static TrainOptions options() {
        TrainOptions o = new TrainOptions();
        o.globalBatchSize = BATCH;
        o.lr = 1e-4;
        o.globalSeed = 0;   // rank 0 of 2 then gets seed 0 * 2 + 0, the same initial weights as 1 rank
        return o;
    }

    /** Step k's full batch: images, labels, timesteps, noise, all fixed by k. */
    static Tensor[] batch(int k, GaussianDiffusion d) {
        Generator g = torch.createCPUGenerator(1000 + k);
        GeneratorOptional go = new GeneratorOptional(g);
        Tensor x = torch.randn(new long[] {BATCH, 1, 8, 8}, go, new TensorOptions(ScalarType.Float));
        Tensor y = torch.randint(0, 4, new long[] {BATCH}, go, new TensorOptions(ScalarType.Long));
        Tensor t = torch.randint(0, d.numTimesteps, new long[] {BATCH}, go, new TensorOptions(ScalarType.Long));
        Tensor noise = torch.randn(new long[] {BATCH, 1, 8, 8}, go, new TensorOptions(ScalarType.Float));
        return new Tensor[] {x, y, t, noise};
    }

    static List<float[]> train(TrainState s, GaussianDiffusion d, DataParallel dp, int rank, int world, double clip) {
        TrainStep step = new TrainStep(s, d, Precision.FLOAT32, clip, false);
        if (dp != null) {
            dp.broadcastFromRank0(s.params, "the model");
            dp.broadcastFromRank0(new ArrayList<>(StateDicts.of(s.ema).values()), "the EMA");
            step.afterBackward(dp::averageGradients);
        }
        int per = BATCH / world;
        for (int k = 0; k < STEPS; k++) {
            try (Step scope = Step.open()) {
                Tensor[] b = batch(k, d);
                Tensor[] mine = new Tensor[4];
                for (int i = 0; i < 4; i++) mine[i] = b[i].narrow(0, (long) rank * per, per).contiguous();
                step.run(mine[0], mine[1], mine[2], mine[3], 1e-4, 0.9);
            }
        }
        List<float[]> out = new ArrayList<>();
        for (Tensor p : s.params) out.add(Tensors.toFloats(p));
        for (Tensor p : StateDicts.of(s.ema).values()) out.add(Tensors.toFloats(p));
        return out;
    }

    @Test
    void twoRanksWithHalfBatchesMatchOneRankWithTheWholeBatch() throws Exception {
        parity(0);
    }

    /** Clipping comes after the averaging, so it sees the global gradient's norm (a tight bound keeps it active). */
    @Test
    void withGradientClippingToo() throws Exception {
        parity(0.01);
    }

    void parity(double clip) throws Exception {
        GaussianDiffusion d = DiffusionConfig.defaults().withLearnSigma(true).create("");
        TrainOptions o = options();
        List<float[]> single = train(TrainState.fresh(TINY, o, 0, 1), d, null, 0, 1, clip);

        List<List<float[]>> ranks = Loopback.run(2, g -> {
            TrainState s = TrainState.fresh(TINY, o, g.rank(), 2);
            DataParallel dp = new DataParallel(g, s.params, 64 << 10);   // several buckets
            List<float[]> r = train(s, d, dp, g.rank(), 2, clip);
            dp.checkReplicas(s.params, STEPS);
            return r;
        });

        double maxDiff = 0, maxMoved = 0;
        TrainState init = TrainState.fresh(TINY, o, 0, 1);
        for (int i = 0; i < single.size(); i++) {
            float[] a = single.get(i), b0 = ranks.get(0).get(i), b1 = ranks.get(1).get(i);
            for (int j = 0; j < a.length; j++) {
                assertEquals(b0[j], b1[j], 0f, "the replicas must be bitwise equal");
                maxDiff = Math.max(maxDiff, Math.abs(a[j] - b0[j]));
            }
            if (i < init.params.size()) {
                float[] start = Tensors.toFloats(init.params.get(i));
                for (int j = 0; j < a.length; j++) maxMoved = Math.max(maxMoved, Math.abs(a[j] - start[j]));
            }
        }
        System.out.printf("2 ranks vs 1 rank after %d AdamW steps (clip %s): max |diff| %.3g, max |change from init| %.3g%n", STEPS, clip, maxDiff, maxMoved);
        assertTrue(maxMoved > 1e-4, "training must have moved the weights: " + maxMoved);
        assertTrue(maxDiff < 1e-5, "2 ranks differ from 1 rank by " + maxDiff);
    }
}
