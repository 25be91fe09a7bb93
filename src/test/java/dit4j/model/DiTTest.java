package dit4j.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dit4j.io.StateDicts;
import dit4j.runtime.Tensors;
import java.util.List;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

class DiTTest {
    static final DiTConfig TINY = new DiTConfig(8, 2, 4, 32, 2, 2, 4.0, 0.1, 10, true);

    @Test
    void parameterNamesAreTheOfficialOnes() {
        List<String> names = List.copyOf(StateDicts.of(new DiT(TINY)).keySet());
        assertEquals("pos_embed", names.get(0));
        for (String n : List.of("x_embedder.proj.weight", "x_embedder.proj.bias", "t_embedder.mlp.0.weight", "t_embedder.mlp.2.bias",
                "y_embedder.embedding_table.weight", "blocks.0.attn.qkv.weight", "blocks.1.attn.proj.bias", "blocks.0.mlp.fc1.weight",
                "blocks.1.mlp.fc2.weight", "blocks.0.adaLN_modulation.1.weight", "final_layer.linear.weight",
                "final_layer.adaLN_modulation.1.bias")) {
            assertTrue(names.contains(n), n);
        }
        assertEquals(1 + 2 + 4 + 1 + 2 * 10 + 4, names.size());
    }

    @Test
    void officialInitZeroesTheOutputAndFreezesPosEmbed() {
        DiT model = DiT.create(TINY, torch.createCPUGenerator(0));
        Tensor out = model.forward(torch.randn(3, 4, 8, 8), Tensors.longs(1, 500, 999), Tensors.longs(0, 3, 10));
        assertArrayEquals(new long[] {3, 8, 8, 8}, Tensors.shape(out));
        assertEquals(0.0, out.abs().max().item_double(), 0.0);
        assertTrue(!model.pos_embed.requires_grad());
        assertTrue(StateDicts.of(model).get("blocks.0.attn.qkv.weight").std().item_double() > 0);
    }

    @Test
    void modulesSurviveGarbageCollection() {
        DiT model = new DiT(TINY);
        for (int i = 0; i < 5; i++) {
            byte[][] pressure = new byte[64][];
            for (int j = 0; j < pressure.length; j++) pressure[j] = new byte[1 << 20];
            System.gc();
        }
        model.train(true);
        model.eval();
        assertTrue(!model.is_training());
    }

    @Test
    void posEmbedFirstHalfEncodesTheColumn() {
        int d = 8, g = 3;
        float[] pe = PosEmbed.sincos2d(d, g);
        // token (row 0, column 2): first quarter is sin(2 * w_k), w_0 = 1
        assertEquals((float) Math.sin(2.0), pe[(0 * g + 2) * d], 1e-7);
        assertEquals((float) Math.cos(2.0), pe[(0 * g + 2) * d + 2], 1e-7);
        // token (row 1, column 0): third quarter is sin(1 * w_0)
        assertEquals((float) Math.sin(1.0), pe[(1 * g) * d + 4], 1e-7);
    }

    @Test
    void cfgNeedsTheNullClassAndUsesTheModelsOwn() {
        DiT model = DiT.create(new DiTConfig(8, 2, 4, 32, 1, 2, 4.0, 0.1, 5, true), torch.createCPUGenerator(1));
        Tensor x = torch.randn(2, 4, 8, 8);
        // label 5 is the null class of a 5-class model; 1000 would be out of range
        Tensor out = model.forwardWithCfg(x, Tensors.longs(10, 10), Tensors.longs(2, 5), 4.0, 3);
        assertArrayEquals(new long[] {2, 8, 8, 8}, Tensors.shape(out));
        assertThrows(RuntimeException.class, () -> model.forward(x, Tensors.longs(1, 1), Tensors.longs(1000, 1000)));
    }

    @Test
    void wrongInputShapeIsAClearError() {
        DiT model = new DiT(TINY);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> model.forward(torch.randn(1, 3, 8, 8), Tensors.longs(1), Tensors.longs(1)));
        assertTrue(e.getMessage().contains("[1, 3, 8, 8]") && e.getMessage().contains("[N, 4, 8, 8]"), e.getMessage());
    }

    @Test
    void namedConfigsAndBadNames() {
        DiTConfig c = DiTConfig.named("DiT-B-4", 32);
        assertEquals(768, c.hiddenSize());
        assertEquals(4, c.patchSize());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DiTConfig.named("DiT-Q/2", 32));
        assertTrue(e.getMessage().contains("DiT-XL/2"));
        assertThrows(IllegalArgumentException.class, () -> DiTConfig.named("DiT-S/2", 33));
    }
}
