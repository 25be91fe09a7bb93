package dit4j.train;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dit4j.diffusion.DiffusionConfig;
import dit4j.diffusion.GaussianDiffusion;
import dit4j.io.StateDicts;
import dit4j.model.DiT;
import dit4j.model.DiTConfig;
import dit4j.runtime.Memory;
import dit4j.runtime.Step;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

/** A training loop (forward, loss, backward, AdamW, EMA) must not grow native memory. */
class TrainingStepMemoryTest {

    @Test
    void rssStaysFlatOverThousandsOfSteps() {
        DiTConfig c = new DiTConfig(8, 2, 4, 32, 2, 2, 4.0, 0.1, 10, true);
        Generator g = torch.createCPUGenerator(0);
        DiT model = DiT.create(c, g);
        DiT emaModel = DiT.create(c, g);
        List<Tensor> params = new ArrayList<>(StateDicts.of(model).values());
        AdamW opt = AdamW.of(params, 1e-3, 0.0);
        Ema ema = new Ema(new ArrayList<>(StateDicts.of(emaModel).values()), params);
        ema.copyFromModel();
        GaussianDiffusion diffusion = DiffusionConfig.defaults().create("");
        Tensor x = torch.randn(new long[] {8, 4, 8, 8}, new GeneratorOptional(g), new TensorOptions());
        Tensor y = torch.randint(10, new long[] {8}, new GeneratorOptional(g), new TensorOptions(torch.ScalarType.Long));
        model.train(true);
        model.useGenerator(g);

        int steps = 3000, warmup = 300;
        long rssAfterWarmup = 0;
        float first = 0, last = 0;
        for (int i = 0; i < steps; i++) {
            try (Step s = Step.open()) {
                Tensor t = torch.randint(1000, new long[] {8}, new GeneratorOptional(g), new TensorOptions(torch.ScalarType.Long));
                Tensor noise = torch.randn(new long[] {8, 4, 8, 8}, new GeneratorOptional(g), new TensorOptions());
                Tensor loss = diffusion.trainingLosses((xt, tt) -> model.forward(xt, tt, y), x, t, noise).loss().mean();
                opt.zeroGrad();
                loss.backward();
                opt.step();
                ema.update(0.999);
                float v = loss.item_float();
                if (i < 50) first += v / 50;
                if (i >= steps - 50) last += v / 50;
            }
            if (i == warmup) {
                System.gc();
                rssAfterWarmup = Memory.rssBytes();
            }
        }
        System.gc();
        long growth = Memory.rssBytes() - rssAfterWarmup;
        System.out.printf("RSS after %d steps %d MB, growth over %d steps %d KB; loss %.3f -> %.3f%n",
                warmup, rssAfterWarmup >> 20, steps - warmup, growth >> 10, first, last);
        assertTrue(rssAfterWarmup > 0, "RSS must be measurable on Linux");
        assertTrue(growth < 24L << 20, "RSS grew by " + (growth >> 20) + " MB over " + (steps - warmup) + " steps");
        assertTrue(last < first, "the loss should fall when fitting one batch: " + first + " -> " + last);
        opt.zeroGrad();
        for (Tensor p : params) assertTrue(!p.requires_grad() || p.grad().abs().max().item_double() == 0.0);
    }
}
