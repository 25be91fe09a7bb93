package dit4j.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dit4j.TestFiles;
import dit4j.diffusion.DiffusionConfig;
import dit4j.io.Safetensors;
import dit4j.model.DiTConfig;
import dit4j.model.Pretrained;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The Java model against the checkpoint fixtures of scripts/make_test_vectors.py (an independent
 * PyTorch implementation), in every checkpoint kind; the official code's vectors are in
 * OfficialVectorsTest.
 */
class VerifyTest {

    private static Verify.Report verify(String name, Path checkpoint, Map<String, Tensor> override) throws Exception {
        Safetensors.Contents v = Safetensors.read(TestFiles.vectors(name + ".vectors.safetensors"));
        DiTConfig config = DiTConfig.fromJson(new ObjectMapper().readTree(v.metadata().get("model")));
        DiffusionConfig diffusion = Verify.diffusionOf(v.metadata(), config);
        Pretrained p = Pretrained.load(checkpoint, config, true, 0);
        if (override != null) {
            try (NoGradGuard g = new NoGradGuard()) {
                dit4j.io.StateDicts.of(p.model()).forEach((k, t) -> {
                    if (override.containsKey(k)) t.copy_(override.get(k));
                });
            }
        }
        Map<String, Tensor> vectors = new LinkedHashMap<>(v.tensors());
        return Verify.run(p.model(), diffusion, vectors, Verify.DEFAULT_ATOL, Verify.DEFAULT_RTOL, l -> {});
    }

    @ParameterizedTest
    @CsvSource({
        "p2_linear, state_dict.pt", "p2_linear, train.pt", "p2_linear, safetensors",
        "p4_cosine, state_dict.pt", "p4_cosine, train.pt", "p4_cosine, safetensors",
        "p2_fixed, state_dict.pt", "p2_fixed, train.pt", "p2_fixed, safetensors"})
    void everyGroupPassesForEveryCheckpointKind(String name, String kind) throws Exception {
        Verify.Report r = verify(name, TestFiles.vectors(name + "." + kind), null);
        assertTrue(r.errors().isEmpty(), r.errors().toString());
        assertTrue(r.ok(), r.lines().stream().filter(l -> !l.ok()).toList().toString());
        assertTrue(r.groups().containsAll(java.util.List.of("forward", "cfg", "loss", "grad", "pmv")), r.groups().toString());
        assertTrue(r.lines().size() > 20);
    }

    @ParameterizedTest
    @CsvSource({"p2_linear", "p2_fixed"})
    void aPerturbedWeightFails(String name) throws Exception {
        Path ckpt = TestFiles.vectors(name + ".safetensors");
        Tensor w = Safetensors.read(ckpt).tensors().get("final_layer.linear.bias");
        Verify.Report r = verify(name, ckpt, Map.of("final_layer.linear.bias", w.add(new Scalar(1e-2))));
        assertFalse(r.ok());
        assertTrue(r.lines().stream().anyMatch(l -> l.name().equals("forward.out") && !l.ok()));
    }

    @ParameterizedTest
    @CsvSource({"p2_linear"})
    void theRawTrainingWeightsDoNotMatchTheEmaVectors(String name) throws Exception {
        Safetensors.Contents v = Safetensors.read(TestFiles.vectors(name + ".vectors.safetensors"));
        DiTConfig config = DiTConfig.fromJson(new ObjectMapper().readTree(v.metadata().get("model")));
        Pretrained raw = Pretrained.load(TestFiles.vectors(name + ".train.pt"), config, false, 0);
        assertEquals("model", raw.file().weightsKey());
        Verify.Report r = Verify.run(raw.model(), Verify.diffusionOf(v.metadata(), config), v.tensors(), 1e-4, 1e-3, l -> {});
        assertFalse(r.ok());
        // It must fail on values, not because a group could not be computed.
        assertTrue(r.errors().isEmpty(), r.errors().toString());
        assertTrue(r.lines().size() > 20, r.lines().toString());
        for (String key : java.util.List.of("forward.out", "cfg.out", "loss.loss", "pmv.mean")) {
            assertTrue(r.lines().stream().anyMatch(l -> l.name().equals(key) && !l.ok()), key + " should differ: " + r.lines());
        }
    }
}
