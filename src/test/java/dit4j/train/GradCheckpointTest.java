package dit4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dit4j.diffusion.DiffusionConfig;
import dit4j.diffusion.GaussianDiffusion;
import dit4j.io.StateDicts;
import dit4j.model.DiTConfig;
import dit4j.runtime.Precision;
import dit4j.runtime.Tensors;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Checkpointed training computes the same loss and gradients as plain training. */
class GradCheckpointTest {

    @ParameterizedTest
    @ValueSource(strings = {"adaln-zero", "adaln", "cross-attention", "in-context"})
    void sameLossAndGradients(String block) {
        DiTConfig c = new DiTConfig(8, 2, 4, 32, 3, 2, 4.0, 0.1, 5, true)
                .withArch(dit4j.model.Arch.OFFICIAL.withBlock(dit4j.model.Arch.parse(dit4j.model.Arch.Block.class, "block", block)));
        TrainOptions o = new TrainOptions();
        o.globalSeed = 3;
        TrainState plain = TrainState.fresh(c, o, 0, 1), ckpt = TrainState.fresh(c, o, 0, 1);
        // Non-zero adaLN and output layers, so that every block matters.
        for (TrainState s : new TrainState[] {plain, ckpt}) {
            var g = torch.createCPUGenerator(9);
            for (Tensor p : s.params) if (p.requires_grad()) p.detach().normal_(0.0, 0.05, new org.bytedeco.pytorch.GeneratorOptional(g));
        }
        GaussianDiffusion d = DiffusionConfig.defaults().create("");
        Tensor x = torch.randn(6, 4, 8, 8), y = Tensors.longs(0, 1, 2, 3, 4, 5);
        double lossPlain = new TrainStep(plain, d, Precision.FLOAT32, 0, false).run(x, y, 0.0, 1.0)[0];
        double lossCkpt = new TrainStep(ckpt, d, Precision.FLOAT32, 0, true).run(x, y, 0.0, 1.0)[0];
        assertEquals(lossPlain, lossCkpt, 1e-6 * Math.abs(lossPlain));
        Map<String, Tensor> a = StateDicts.trainable(plain.model), b = StateDicts.trainable(ckpt.model);
        int compared = 0;
        for (String k : a.keySet()) {
            Tensor ga = a.get(k).grad(), gb = b.get(k).grad();
            assertTrue(ga.defined() && gb.defined(), k);
            double scale = ga.abs().max().item_double();
            assertEquals(0.0, ga.sub(gb).abs().max().item_double(), 1e-5 * scale + 1e-9, k);
            compared++;
        }
        assertEquals(a.size(), compared);
        assertTrue(StateDicts.trainable(plain.model).get("t_embedder.mlp.0.weight").grad().abs().max().item_double() > 0,
                "gradients reach the timestep embedder");
    }
}
