package dit4j.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dit4j.io.StateDicts;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ModelStatsTest {

    /** Counts from the official models.py (sum of p.numel() over model.parameters()). */
    @ParameterizedTest
    @CsvSource({
        "DiT-XL/2, 256, 675129632", "DiT-XL/2, 512, 676014368", "DiT-XL/4, 256, 675074432", "DiT-XL/8, 256, 675683072",
        "DiT-L/2, 256, 458102816", "DiT-L/4, 256, 458053760", "DiT-L/8, 512, 458643968",
        "DiT-B/2, 256, 130512416", "DiT-B/4, 512, 130623104", "DiT-B/8, 256, 130881536",
        "DiT-S/2, 256, 32963360", "DiT-S/4, 256, 32945024", "DiT-S/8, 512, 33166592"})
    void officialParameterCounts(String name, int imageSize, long expected) {
        assertEquals(expected, ModelStats.parameters(DiTConfig.named(name, imageSize / 8)));
    }

    /** The paper's Table 4 (Gflops at 256 px). */
    @ParameterizedTest
    @CsvSource({"DiT-XL/2, 118.6", "DiT-XL/4, 29.05", "DiT-XL/8, 7.39", "DiT-L/2, 80.71", "DiT-B/2, 23.01", "DiT-S/2, 6.06", "DiT-S/4, 1.41"})
    void paperGflops(String name, double gflops) {
        assertEquals(gflops, ModelStats.gflops(DiTConfig.named(name, 32)), gflops * 0.005);
    }

    /**
     * The paper's Figure 5 (DiT-XL/2, 256 px): Gflops of the four conditioning designs. adaLN
     * regresses adaLN-Zero's six vectors (gates unused), so it costs the same 118.621.
     */
    @ParameterizedTest
    @CsvSource({"adaln-zero, 118.6", "adaln, 118.6", "in-context, 119.4", "cross-attention, 137.6"})
    void paperGflopsOfTheDesigns(String block, double gflops) {
        DiTConfig c = DiTConfig.named("DiT-XL/2", 32).withArch(Arch.OFFICIAL.withBlock(Arch.parse(Arch.Block.class, "block", block)));
        assertEquals(gflops, Math.round(ModelStats.gflops(c) * 10) / 10.0, 1e-9);
    }

    @Test
    void adaLNCostsWhatAdaLNZeroCosts() {
        DiTConfig zero = DiTConfig.named("DiT-XL/2", 32);
        DiTConfig adaln = zero.withArch(Arch.OFFICIAL.withBlock(Arch.Block.ADALN));
        assertEquals(675129632L, ModelStats.parameters(adaln));
        assertEquals(ModelStats.parameters(zero), ModelStats.parameters(adaln));
        assertEquals(118.621, Math.round(ModelStats.gflops(adaln) * 1000) / 1000.0, 1e-9);
        assertEquals(ModelStats.macs(zero), ModelStats.macs(adaln), 0);
    }

    /** Every design and option: the count is that of the model built. */
    @ParameterizedTest
    @CsvSource({"adaln-zero, none, sincos, gelu, layernorm", "adaln, none, sincos, gelu, layernorm", "in-context, none, sincos, gelu, layernorm",
        "cross-attention, none, sincos, gelu, layernorm", "adaln-zero, layernorm, rope, swiglu, rmsnorm", "in-context, rmsnorm, rope, swiglu, rmsnorm",
        "cross-attention, layernorm, sincos, swiglu, rmsnorm", "adaln, rmsnorm, rope, gelu, layernorm"})
    void countMatchesTheBuiltModelOfEveryDesign(String block, String qk, String pos, String mlp, String norm) {
        Arch a = new Arch(Arch.parse(Arch.Block.class, "", block), Arch.parse(Arch.QkNorm.class, "", qk), Arch.parse(Arch.Pos.class, "", pos),
                Arch.parse(Arch.MlpKind.class, "", mlp), Arch.parse(Arch.NormKind.class, "", norm));
        DiTConfig c = new DiTConfig(16, 4, 3, 48, 3, 4, 2.5, 0.1, 11, true, a);
        DiT model = new DiT(c);
        long n = 0;
        for (Map.Entry<String, org.bytedeco.pytorch.Tensor> e : StateDicts.of(model).entrySet()) n += e.getValue().numel();
        assertEquals(n, ModelStats.parameters(c));
    }

    @Test
    void countMatchesTheBuiltModel() {
        DiTConfig c = new DiTConfig(16, 4, 3, 48, 3, 4, 2.5, 0.1, 11, true);
        DiT model = new DiT(c);
        long n = 0;
        for (Map.Entry<String, org.bytedeco.pytorch.Tensor> e : StateDicts.of(model).entrySet()) n += e.getValue().numel();
        assertEquals(n, ModelStats.parameters(c));
    }
}
