package dit4j.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dit4j.diffusion.DiffusionConfig;
import dit4j.diffusion.GaussianDiffusion;
import dit4j.flow.FlowPath;
import dit4j.flow.Transport;
import dit4j.io.StateDicts;
import dit4j.runtime.Step;
import dit4j.train.AdamW;
import dit4j.train.Ema;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;

/**
 * No hidden CPU tensor in the training step's pieces, checked on libtorch's {@code meta} device
 * (shapes without data, on every build): an op that mixes a meta tensor with a CPU one fails with
 * "Expected all tensors to be on the same device", as it would on CUDA, and whatever comes out
 * must be on meta.
 *
 * <p>Not the whole DiT: this libtorch has no meta kernels for embedding (index_select),
 * layer_norm, scaled_dot_product_attention or where, and its {@code Module.to} refuses meta
 * (set_data allows CPU and CUDA only). So the parameters are put on meta as set_data does after
 * that check, and the step is run through the parts that have meta kernels: patch and timestep
 * embedding, rotary tables, schedule lookups, both losses, backward, AdamW and the EMA.
 */
class MetaDeviceTest {
    static final Device META = new Device("meta");

    static Tensor meta(Tensor t) {
        return t.to(META, t.scalar_type());
    }

    /**
     * The data swap of {@code Module.to}, without its check that the devices are CPU or CUDA; under
     * no-grad, so that no gradient accumulator is made while the parameter is still on the CPU.
     */
    static void toMeta(Module m) {
        try (NoGradGuard g = new NoGradGuard()) {
            for (Tensor p : StateDicts.of(m).values()) p.unsafeGetTensorImpl().shallow_copy_from(meta(p).getIntrusivePtr());
        }
    }

    static void assertMeta(Tensor t, String what) {
        assertTrue(t.is_meta(), what + " is on " + t.device().str().getString() + ", not on the model's device");
    }

    @Test
    void mixingDevicesFailsOnMeta() {
        // What the checks below rely on: a hidden CPU tensor in a meta computation is an error.
        Tensor a = meta(torch.zeros(3));
        RuntimeException e = assertThrows(RuntimeException.class, () -> a.add(torch.ones(3)));
        assertTrue(e.getMessage().contains("same device"), e.getMessage());
    }

    @Test
    void diffusionAndFlowStepsStayOnTheModelsDevice() {
        DiTConfig c = new DiTConfig(8, 2, 4, 32, 1, 2, 4.0, 0.1, 4, false);
        DiT model = DiT.create(c, torch.createCPUGenerator(0));
        DiT emaModel = new DiT(c);
        toMeta(model);
        toMeta(emaModel);
        List<Tensor> params = new ArrayList<>(StateDicts.of(model).values());
        AdamW opt = AdamW.of(params, 1e-3, 0.01);
        Ema ema = new Ema(new ArrayList<>(StateDicts.of(emaModel).values()), params);
        Rope rope = new Rope(16, c.gridSize(), 0);
        rope.moveTo(META);
        GaussianDiffusion diffusion = DiffusionConfig.defaults().withLearnSigma(false).create("");
        Transport transport = Transport.create(FlowPath.parse("Linear"), Transport.Prediction.parse("velocity"), Transport.LossWeight.parse("none"));

        for (String objective : new String[] {"diffusion", "flow"}) {
            try (Step s = Step.open()) {
                Tensor x = meta(torch.randn(2, 4, 8, 8));
                Tensor t = objective.equals("flow") ? meta(torch.rand(2)) : meta(torch.randint(0, 1000, new long[] {2}));
                Tensor noise = meta(torch.randn(2, 4, 8, 8));
                // A stand-in denoiser from the model's own layers that have meta kernels.
                dit4j.diffusion.Denoiser denoiser = (xt, tt) -> {
                    Tensor h = model.embedPatches(xt).add(model.t_embedder.forward(tt).unsqueeze(1));
                    Tensor q = rope.apply(h.view(2, 16, 2, 16).transpose(1, 2));
                    return xt.mul(q.mean());
                };
                Tensor loss = objective.equals("flow")
                        ? transport.trainingLosses(denoiser, x, t, noise).mean()
                        : diffusion.trainingLosses(denoiser, x, t, noise).loss().mean();
                assertMeta(loss, objective + " loss");
                opt.zeroGrad();
                loss.backward();
                opt.step();
                ema.update(0.99);
            }
        }
        Map<String, Object> state = opt.stateDict();
        int moments = 0;
        for (Object o : ((Map<?, ?>) state.get("state")).values()) {
            assertMeta((Tensor) ((Map<?, ?>) o).get("exp_avg"), "an AdamW moment");
            moments++;
        }
        assertTrue(moments > 0, "AdamW updated no parameter");
        for (Map.Entry<String, Tensor> e : StateDicts.of(model).entrySet()) {
            assertMeta(e.getValue(), e.getKey());
            if (e.getValue().grad().defined()) assertMeta(e.getValue().grad(), e.getKey() + ".grad");
        }
        for (Map.Entry<String, Tensor> e : StateDicts.of(emaModel).entrySet()) assertMeta(e.getValue(), "ema " + e.getKey());
        assertEquals(ScalarType.Float, model.x_embedder.weight.grad().scalar_type().intern());
    }

    @Test
    void timestepEmbeddingFollowsItsInput() {
        assertMeta(TimestepEmbedder.timestepEmbedding(meta(torch.arange(new org.bytedeco.pytorch.Scalar(0), new org.bytedeco.pytorch.Scalar(4))), 9), "the embedding");
    }
}
