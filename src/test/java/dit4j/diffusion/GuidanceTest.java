package dit4j.diffusion;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import com.fasterxml.jackson.databind.ObjectMapper;
import dit4j.TestFiles;
import dit4j.io.Safetensors;
import dit4j.model.DiT;
import dit4j.model.DiTConfig;
import dit4j.model.Pretrained;
import dit4j.runtime.Tensors;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;

/** Guidance matches DiT's forward_with_cfg, and its interval switches it off outside [lo, hi]. */
class GuidanceTest {
    @Test
    void matchesForwardWithCfgAndHonoursTheInterval() throws Exception {
        Safetensors.Contents v = Safetensors.read(TestFiles.resource("official/eps_learned_linear_p2.vectors.safetensors"));
        DiTConfig config = DiTConfig.fromJson(new ObjectMapper().readTree(v.metadata().get("model")));
        DiT model = Pretrained.load(TestFiles.resource("official/eps_learned_linear_p2.safetensors"), config, true, 0).model();
        model.eval();
        try (InferenceMode g = new InferenceMode()) {
            Tensor x = v.tensors().get("cfg.x"), t = v.tensors().get("cfg.t"), y = v.tensors().get("cfg.y");
            for (int channels : new int[] {3, 0}) {
                Tensor want = model.forwardWithCfg(x, t, y, 4.0, channels <= 0 ? 1000 : channels);
                Tensor got = Guidance.cfg(model::forward, y, 4.0, channels).apply(x, t);
                assertArrayEquals(Tensors.toFloats(want), Tensors.toFloats(got), 1e-6f);
                // t = 250 outside [300, 999]: the conditional prediction, as scale 1 gives it
                // (the rows the samplers keep: the conditional half; the model ran on that half alone)
                long half = x.size(0) / 2;
                Tensor off = Guidance.cfg(model::forward, y, 4.0, channels, 300, 999).apply(x, t);
                Tensor cond = model.forwardWithCfg(x, t, y, 1.0, channels <= 0 ? 1000 : channels).narrow(0, 0, half);
                assertArrayEquals(Tensors.toFloats(cond), Tensors.toFloats(off.narrow(0, 0, half)), 1e-5f);
                assertArrayEquals(Tensors.toFloats(off.narrow(0, 0, half)), Tensors.toFloats(off.narrow(0, half, half)), 0f);
                Tensor on = Guidance.cfg(model::forward, y, 4.0, channels, 0, 250).apply(x, t);
                assertArrayEquals(Tensors.toFloats(want), Tensors.toFloats(on), 1e-6f);
                // rows at different steps (the server batches requests): each row by its own t
                Tensor mixed = Tensors.longs(new long[] {250, 500, 250, 500});
                Tensor rows = Guidance.cfg(model::forward, y, 4.0, channels, 300, 999).apply(x, mixed);
                int ch = channels <= 0 ? 1000 : channels;
                Tensor plain = model.forwardWithCfg(x, mixed, y, 1.0, ch), guided = model.forwardWithCfg(x, mixed, y, 4.0, ch);
                assertArrayEquals(Tensors.toFloats(plain.narrow(0, 0, 1)), Tensors.toFloats(rows.narrow(0, 0, 1)), 1e-6f);
                assertArrayEquals(Tensors.toFloats(guided.narrow(0, 1, 1)), Tensors.toFloats(rows.narrow(0, 1, 1)), 1e-6f);
            }
        }
    }
}
