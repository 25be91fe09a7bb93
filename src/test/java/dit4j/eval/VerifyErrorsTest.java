package dit4j.eval;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dit4j.TestFiles;
import dit4j.diffusion.DiffusionConfig;
import dit4j.io.Safetensors;
import dit4j.model.DiTConfig;
import dit4j.model.Pretrained;
import dit4j.runtime.Tensors;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;

class VerifyErrorsTest {
    static final DiTConfig CONFIG = new DiTConfig(8, 2, 1, 16, 1, 2, 4.0, 0.1, 5, false);

    private static Verify.Report run(Map<String, Tensor> v) throws Exception {
        Pretrained p = Pretrained.load(TestFiles.vectors("p2_fixed.safetensors"), CONFIG, true, 0);
        return Verify.run(p.model(), DiffusionConfig.defaults().withLearnSigma(false), v, 1e-4, 1e-3, l -> {});
    }

    private static Map<String, Tensor> vectors() throws Exception {
        return new LinkedHashMap<>(Safetensors.read(TestFiles.vectors("p2_fixed.vectors.safetensors")).tensors());
    }

    @Test
    void aMissingInputIsNamed() throws Exception {
        Map<String, Tensor> v = vectors();
        v.remove("forward.t");
        Verify.Report r = run(v);
        assertFalse(r.ok());
        assertTrue(r.errors().stream().anyMatch(e -> e.contains("'forward.t'") && e.contains("forward")), r.errors().toString());
    }

    @Test
    void aMissingExpectedTensorIsNamed() throws Exception {
        Map<String, Tensor> v = vectors();
        v.remove("pmv.variance");
        Verify.Report r = run(v);
        assertFalse(r.ok());
        assertTrue(r.errors().stream().anyMatch(e -> e.contains("pmv.variance")), r.errors().toString());
    }

    @Test
    void aMalformedTensorIsNamed() throws Exception {
        Map<String, Tensor> v = vectors();
        v.put("cfg.y", Tensors.floats(new float[] {1, 2, 3, 4}, 4));
        v.put("forward.x", Tensors.floats(new float[] {1, 2}, 2));
        Verify.Report r = run(v);
        assertTrue(r.errors().stream().anyMatch(e -> e.contains("'cfg.y'") && e.contains("I64")), r.errors().toString());
        assertTrue(r.errors().stream().anyMatch(e -> e.contains("'forward.x'") && e.contains("[2]")), r.errors().toString());
    }

    @Test
    void aFileWithNoGroupFails() throws Exception {
        Verify.Report r = run(Map.of("nothing.here", Tensors.floats(new float[] {1}, 1)));
        assertFalse(r.ok());
    }
}
