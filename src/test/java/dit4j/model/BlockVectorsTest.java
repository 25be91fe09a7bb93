package dit4j.model;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dit4j.TestFiles;
import dit4j.eval.Verify;
import dit4j.io.Safetensors;
import dit4j.io.StateDicts;
import dit4j.runtime.Tensors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The conditioning designs and options against scripts/make_block_vectors.py (the official DiT
 * embedders and final layer, timm's Attention/Mlp/RmsNorm, Hunyuan-DiT's RoPE, DINOv2's SwiGLU),
 * at the default tolerances of {@code dit verify}.
 */
class BlockVectorsTest {
    private static final String SUFFIX = ".vectors.safetensors";

    static Stream<String> names() throws IOException {
        try (Stream<Path> s = Files.list(TestFiles.resource("blocks"))) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(SUFFIX))
                    .map(n -> n.substring(0, n.length() - SUFFIX.length())).sorted().toList().stream();
        }
    }

    private static Safetensors.Contents vectors(String name) throws IOException {
        return Safetensors.read(TestFiles.resource("blocks/" + name + SUFFIX));
    }

    /** The script's {@code fill}: trainable parameters in sorted name order from one generator seeded 0. */
    static DiT filledModel(DiTConfig config) {
        DiT model = new DiT(config);
        Generator g = torch.createCPUGenerator(0);
        try (NoGradGuard guard = new NoGradGuard()) {
            for (Map.Entry<String, Tensor> e : new TreeMap<>(StateDicts.trainable(model)).entrySet()) {
                Tensor p = e.getValue();
                Tensor r = torch.randn(Tensors.shape(p), new GeneratorOptional(g), new TensorOptions(ScalarType.Float));
                String[] parts = e.getKey().split("\\.");
                if (p.dim() > 1) p.copy_(r.mul(new Scalar(0.8 / Math.sqrt(p.numel() / p.size(0)))));
                else if (parts[parts.length - 2].contains("norm") && e.getKey().endsWith(".weight")) p.copy_(r.mul(new Scalar(0.1)).add(new Scalar(1.0)));
                else p.copy_(r.mul(new Scalar(0.1)));
            }
        }
        model.eval();
        return model;
    }

    static DiTConfig configOf(Safetensors.Contents v) throws IOException {
        return DiTConfig.fromJson(new ObjectMapper().readTree(v.metadata().get("model")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("names")
    void forwardMatchesTheReference(String name) throws Exception {
        Safetensors.Contents v = vectors(name);
        DiTConfig config = configOf(v);
        assertFalse(config.arch().isOfficial(), "the file's configuration must carry its design");
        Verify.Report r = Verify.run(filledModel(config), null, v.tensors(), Verify.DEFAULT_ATOL, Verify.DEFAULT_RTOL, l -> {});
        assertTrue(r.errors().isEmpty(), r.errors().toString());
        assertTrue(r.groups().contains("forward"), r.groups().toString());
        assertTrue(r.ok(), r.lines().toString());
    }

    /** Loss and every parameter's gradient of mean((out - target)^2), for the cross-attention model. */
    @Test
    void gradientsMatchTheReference() throws Exception {
        Safetensors.Contents v = vectors("cross_attention");
        Map<String, Tensor> t = v.tensors();
        DiT model = filledModel(configOf(v));
        Tensor out = model.forward(t.get("forward.x"), t.get("forward.t"), t.get("forward.y"));
        Tensor loss = out.sub(t.get("mse_grad.target")).pow(new Scalar(2)).mean();
        loss.backward();
        close("loss", loss.reshape(1), t.get("mse_grad.loss"));
        int n = 0;
        for (Map.Entry<String, Tensor> e : StateDicts.trainable(model).entrySet()) {
            Tensor want = t.get("mse_grad." + e.getKey());
            assertTrue(want != null, "no reference gradient for " + e.getKey());
            close(e.getKey(), e.getValue().grad(), want);
            n++;
        }
        assertTrue(n > 30, "compared " + n + " gradients");
    }

    private static void close(String what, Tensor got, Tensor want) {
        float[] g = Tensors.toFloats(got), w = Tensors.toFloats(want);
        assertTrue(g.length == w.length, what + ": " + g.length + " values, the reference has " + w.length);
        for (int i = 0; i < g.length; i++) {
            double tol = Verify.DEFAULT_ATOL + Verify.DEFAULT_RTOL * Math.abs(w[i]);
            if (!(Math.abs(g[i] - w[i]) <= tol)) throw new AssertionError(what + "[" + i + "]: " + g[i] + ", the reference " + w[i]);
        }
    }

}
