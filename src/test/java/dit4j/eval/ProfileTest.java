package dit4j.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dit4j.model.Arch;
import dit4j.model.DiTConfig;
import dit4j.runtime.Precision;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The profile takes every block design and option apart into the operations that block runs. */
class ProfileTest {
    private static final DiTConfig SMALL = new DiTConfig(8, 2, 4, 64, 2, 4, 4.0, 0.1, 10, true);

    private static Map<String, Integer> counts(Arch a, boolean train) {
        Profile.Report r = Profile.run(SMALL.withArch(a), 2, Precision.FLOAT32, train);
        assertTrue(r.parts().stream().allMatch(p -> p.msEach() > 0) && r.passMs() > 0);
        return r.parts().stream().collect(Collectors.toMap(Profile.Part::name, Profile.Part::perPass));
    }

    private static Arch arch(Arch.Block b) {
        return new Arch(b, Arch.QkNorm.NONE, Arch.Pos.SINCOS, Arch.MlpKind.GELU, Arch.NormKind.LAYERNORM);
    }

    @Test
    void officialBlockHasGatesAndASixWayRegression() {
        Map<String, Integer> p = counts(arch(Arch.Block.ADALN_ZERO), true);
        assertEquals(2, p.get("adaLN_modulation (SiLU, Linear D->6D)"));
        assertEquals(4, p.get("gated residual"));
        assertEquals(2, p.get("attention core (fused SDPA, 16 tokens)"));
        assertEquals(4, p.get("LayerNorm + modulate"));
    }

    @Test
    void adaLNRegressesSixVectorsAndAddsPlainResiduals() {
        Map<String, Integer> p = counts(arch(Arch.Block.ADALN), false);
        assertEquals(2, p.get("adaLN_modulation (SiLU, Linear D->6D)"));
        assertEquals(4, p.get("residual add"));
        assertTrue(!p.containsKey("gated residual"));
    }

    @Test
    void crossAttentionHasThreeNormsAndAttendsToTwoTokens() {
        Map<String, Integer> p = counts(arch(Arch.Block.CROSS_ATTENTION), true);
        assertEquals(6, p.get("LayerNorm (affine)"));
        assertEquals(2, p.get("cross_attn.kv_linear (2 tokens, D->2D)"));
        assertEquals(2, p.get("cross-attention core (to 2 tokens)"));
        assertEquals(6, p.get("residual add"));
        assertTrue(p.keySet().stream().noneMatch(k -> k.startsWith("adaLN_modulation")));
    }

    @Test
    void inContextBlocksSeeTwoMoreTokens() {
        Map<String, Integer> p = counts(arch(Arch.Block.IN_CONTEXT), false);
        assertEquals(2, p.get("attention core (fused SDPA, 18 tokens)"));
        assertEquals(1, p.get("append the t, y tokens"));
        assertEquals(4, p.get("LayerNorm (affine)"));
    }

    @Test
    void optionsAddTheirOperations() {
        Arch a = new Arch(Arch.Block.IN_CONTEXT, Arch.QkNorm.RMSNORM, Arch.Pos.ROPE, Arch.MlpKind.SWIGLU, Arch.NormKind.RMSNORM);
        Map<String, Integer> p = counts(a, true);
        assertEquals(4, p.get("attn.q_norm, k_norm (per head)"));
        assertEquals(4, p.get("rotary embedding of q, k"));
        assertEquals(2, p.get("mlp.w12 + SiLU gate (D->2x170)"));
        assertEquals(4, p.get("RMSNorm (affine)"));
        assertEquals(1, p.get("patch embed"));
    }
}
