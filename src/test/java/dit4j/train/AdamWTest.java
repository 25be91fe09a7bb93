package dit4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dit4j.TestFiles;
import dit4j.io.Safetensors;
import dit4j.runtime.Step;
import dit4j.runtime.Tensors;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** AdamW against torch.optim.AdamW trajectories (official/adamw.safetensors, from scripts/make_official_vectors.py). */
class AdamWTest {

    @ParameterizedTest
    @ValueSource(strings = {"wd0", "wd01"})
    void followsTorchOptimAdamWStepForStep(String kase) throws Exception {
        Safetensors.Contents f = Safetensors.read(TestFiles.resource("official/adamw.safetensors"));
        Map<String, Tensor> v = f.tensors();
        JsonNode h = new ObjectMapper().readTree(f.metadata().get(kase));
        int steps = Integer.parseInt(f.metadata().get("steps"));
        List<Tensor> params = new ArrayList<>();
        for (int i = 0; v.containsKey("init." + i); i++) params.add(v.get("init." + i).clone().requires_grad_(true));
        assertEquals(2, params.size());
        AdamW opt = new AdamW(params, h.get("lr").asDouble(), h.get("betas").get(0).asDouble(), h.get("betas").get(1).asDouble(),
                h.get("eps").asDouble(), h.get("weight_decay").asDouble());
        for (int s = 0; s < steps; s++) {
            try (Step scope = Step.open()) {
                opt.zeroGrad();
                // d/dp sum(p * g) = g: the step's fixed gradients, through backward as in training
                Tensor loss = null;
                for (int i = 0; i < params.size(); i++) {
                    Tensor term = params.get(i).mul(v.get("grads." + i).select(0, s)).sum();
                    loss = loss == null ? term : loss.add(term);
                }
                loss.backward();
                opt.step();
                for (int i = 0; i < params.size(); i++) {
                    close(Tensors.toFloats(params.get(i).detach()), Tensors.toFloats(v.get(kase + ".params." + i).select(0, s)), kase + " step " + (s + 1) + " param " + i);
                }
            }
        }
        @SuppressWarnings("unchecked")
        Map<Object, Map<String, Object>> state = (Map<Object, Map<String, Object>>) opt.stateDict().get("state");
        for (int i = 0; i < params.size(); i++) {
            close(Tensors.toFloats((Tensor) state.get(i).get("exp_avg_sq")), Tensors.toFloats(v.get(kase + ".exp_avg_sq." + i)), kase + " exp_avg_sq " + i);
        }
    }

    private static void close(float[] got, float[] want, String what) {
        assertEquals(want.length, got.length, what);
        for (int i = 0; i < got.length; i++) {
            assertTrue(Math.abs(got[i] - want[i]) <= 1e-6 + 1e-5 * Math.abs(want[i]), what + "[" + i + "]: " + got[i] + " vs torch " + want[i]);
        }
    }
}
