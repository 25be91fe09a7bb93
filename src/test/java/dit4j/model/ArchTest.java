package dit4j.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dit4j.io.CheckpointException;
import dit4j.io.PtWriter;
import dit4j.io.StateDicts;
import dit4j.runtime.Tensors;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ArchTest {
    static final DiTConfig SMALL = new DiTConfig(8, 2, 4, 32, 2, 2, 2.0, 0.1, 10, true);

    static Map<String, long[]> shapes(DiT model) {
        Map<String, long[]> out = new LinkedHashMap<>();
        StateDicts.of(model).forEach((k, v) -> out.put(k, Tensors.shape(v)));
        return out;
    }

    @Test
    void parameterNamesFollowTheOfficialStyle() {
        Map<String, long[]> cross = shapes(new DiT(SMALL.withArch(Arch.OFFICIAL.withBlock(Arch.Block.CROSS_ATTENTION))));
        for (String k : new String[] {"blocks.0.norm1.weight", "blocks.0.norm1.bias", "blocks.0.cross_attn.q_linear.weight",
                "blocks.0.cross_attn.kv_linear.weight", "blocks.0.cross_attn.proj.bias", "blocks.1.norm3.weight", "final_layer.adaLN_modulation.1.weight"}) {
            assertTrue(cross.containsKey(k), k + " in " + cross.keySet());
        }
        assertFalse(cross.containsKey("blocks.0.adaLN_modulation.1.weight"));
        Map<String, long[]> official = shapes(new DiT(SMALL));
        assertFalse(official.keySet().stream().anyMatch(k -> k.contains("norm")), "the official blocks' norms have no parameters");
        Map<String, long[]> qk = shapes(new DiT(SMALL.withArch(new Arch(Arch.Block.ADALN_ZERO, Arch.QkNorm.LAYERNORM, Arch.Pos.ROPE, Arch.MlpKind.SWIGLU, Arch.NormKind.LAYERNORM))));
        for (String k : new String[] {"blocks.0.attn.q_norm.weight", "blocks.0.attn.k_norm.bias", "blocks.0.mlp.w12.weight", "blocks.0.mlp.w3.weight"}) {
            assertTrue(qk.containsKey(k), k);
        }
        assertFalse(qk.containsKey("pos_embed"), "rotary embeddings replace the table");
        assertEquals(16, qk.get("blocks.0.attn.q_norm.weight")[0]);
    }

    /** adaLN has adaLN-Zero's parameters: its bare weights read as adaLN-Zero, the official design. */
    @Test
    void weightsWithoutARecordRevealTheirDesign() {
        for (Arch.Block b : Arch.Block.values()) {
            Arch a = new Arch(b, Arch.QkNorm.RMSNORM, Arch.Pos.SINCOS, Arch.MlpKind.SWIGLU, Arch.NormKind.LAYERNORM);
            DiTConfig inferred = ConfigInference.infer(shapes(new DiT(SMALL.withArch(a))), 2);
            assertEquals(b == Arch.Block.ADALN ? a.withBlock(Arch.Block.ADALN_ZERO) : a, inferred.arch(), b.id());
        }
    }

    @Test
    void adaLNHasTheLayoutOfAdaLNZero() throws Exception {
        DiT adaln = new DiT(SMALL.withArch(Arch.OFFICIAL.withBlock(Arch.Block.ADALN)));
        Map<String, long[]> s = shapes(adaln), zero = shapes(new DiT(SMALL));
        assertEquals(zero.keySet(), s.keySet());
        for (String k : zero.keySet()) assertArrayEquals(zero.get(k), s.get(k), k);
        assertArrayEquals(new long[] {6 * 32, 32}, s.get("blocks.0.adaLN_modulation.1.weight"));
        // Weights that read as adaLN-Zero load into an adaLN model (from a checkpoint's record or a given configuration).
        adaln.load(StateDicts.of(new DiT(SMALL)), "ck.pt");
    }

    /** adaLN weights of the older four-vector regression: one line naming the tensor and both shapes, whether inferred or recorded. */
    @Test
    void fourVectorRegressionsAreRefused(@TempDir Path tmp) throws Exception {
        Map<String, Tensor> sd = new LinkedHashMap<>(StateDicts.of(new DiT(SMALL.withArch(Arch.OFFICIAL.withBlock(Arch.Block.ADALN)))));
        for (int i = 0; i < SMALL.depth(); i++) {
            for (String p : new String[] {"weight", "bias"}) {
                String k = "blocks." + i + ".adaLN_modulation.1." + p;
                sd.put(k, sd.get(k).narrow(0, 0, 4 * 32).clone());
            }
        }
        String want = "'blocks.0.adaLN_modulation.1.weight' has shape [128, 32], expected [6D, D] = [192, 32] (four vectors: a dit4j adaLN checkpoint";
        Path f = tmp.resolve("old.pt");
        PtWriter.save(f, PtWriter.ordered(sd));
        CheckpointException inferred = assertThrows(CheckpointException.class, () -> Pretrained.load(f, null, true, 0));
        assertTrue(inferred.getMessage().startsWith(f + ": " + want), inferred.getMessage());
        DiT adaln = new DiT(SMALL.withArch(Arch.OFFICIAL.withBlock(Arch.Block.ADALN)));
        CheckpointException recorded = assertThrows(CheckpointException.class, () -> adaln.load(sd, "ck.pt"));
        assertTrue(recorded.getMessage().startsWith("ck.pt: " + want) && !recorded.getMessage().contains("\n"), recorded.getMessage());
    }

    /** adaLN uses chunks 0, 1, 3, 4 (shift, scale); the gate rows 2 and 5 get no gradient. */
    @Test
    void adaLNLeavesTheGatesUnused() {
        DiT model = BlockVectorsTest.filledModel(SMALL.withArch(Arch.OFFICIAL.withBlock(Arch.Block.ADALN)));
        Tensor x = torch.randn(new long[] {2, 4, 8, 8}, new GeneratorOptional(torch.createCPUGenerator(1)), new TensorOptions(ScalarType.Float));
        model.forward(x, Tensors.longs(3, 900), Tensors.longs(1, 10)).pow(new Scalar(2)).mean().backward();
        int d = 32;
        float[] g = Tensors.toFloats(StateDicts.trainable(model).get("blocks.0.adaLN_modulation.1.weight").grad());
        for (int chunk = 0; chunk < 6; chunk++) {
            double sum = 0;
            for (int i = chunk * d * d; i < (chunk + 1) * d * d; i++) sum += Math.abs(g[i]);
            if (chunk == 2 || chunk == 5) assertEquals(0.0, sum, "gate chunk " + chunk);
            else assertTrue(sum > 0, "chunk " + chunk);
        }
    }

    @Test
    void loadingAnotherDesignNamesBoth() {
        DiT inContext = new DiT(SMALL.withArch(Arch.OFFICIAL.withBlock(Arch.Block.IN_CONTEXT)));
        Map<String, Tensor> sd = StateDicts.of(inContext);
        CheckpointException e = assertThrows(CheckpointException.class, () -> new DiT(SMALL).load(sd, "ck.pt"));
        assertTrue(e.getMessage().contains("in-context blocks") && e.getMessage().contains("adaln-zero blocks"), e.getMessage());
        // The same design with another option: the first odd key, and the model's design.
        DiT qk = new DiT(SMALL.withArch(new Arch(Arch.Block.ADALN_ZERO, Arch.QkNorm.LAYERNORM, Arch.Pos.SINCOS, Arch.MlpKind.GELU, Arch.NormKind.LAYERNORM)));
        CheckpointException e2 = assertThrows(CheckpointException.class, () -> qk.load(StateDicts.of(new DiT(SMALL)), "ck.pt"));
        assertTrue(e2.getMessage().contains("missing key 'blocks.0.attn.q_norm.weight'") && e2.getMessage().contains("adaln-zero, qk-norm layernorm"), e2.getMessage());
    }

    @Test
    void flagsParseWithTheChoicesListed() {
        assertEquals(Arch.Block.CROSS_ATTENTION, Arch.parse(Arch.Block.class, "--block", "Cross-Attention"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Arch.parse(Arch.Pos.class, "--pos", "learned"));
        assertEquals("unknown --pos 'learned': expected one of sincos, rope", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new DiTConfig(8, 2, 4, 24, 2, 4, 2.0, 0.1, 10, true,
                new Arch(Arch.Block.ADALN_ZERO, Arch.QkNorm.NONE, Arch.Pos.ROPE, Arch.MlpKind.GELU, Arch.NormKind.LAYERNORM)));
    }
}
