package dit4j.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dit4j.TestFiles;
import dit4j.model.ConfigInference;
import dit4j.model.DiT;
import dit4j.model.DiTConfig;
import dit4j.model.Pretrained;
import dit4j.runtime.Tensors;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointTest {
    @TempDir
    Path tmp;

    static final DiTConfig P2_LINEAR = new DiTConfig(8, 2, 4, 32, 2, 2, 4.0, 0.1, 10, true);

    @Test
    void ptRoundTripKeepsValuesOrderAndDtypes() throws Exception {
        Map<String, Tensor> sd = new LinkedHashMap<>();
        sd.put("z.last", torch.randn(3, 4));
        sd.put("a.first", Tensors.longs(5, -7, 1L << 40));
        sd.put("bf16", torch.randn(2, 2).to(ScalarType.BFloat16));
        sd.put("strided", torch.randn(4, 6).t());
        Map<String, Object> top = new LinkedHashMap<>();
        top.put("model", PtWriter.ordered(sd));
        top.put("step", 123456789012L);
        top.put("small", 7);
        top.put("neg", -3);
        top.put("lr", 1e-4);
        top.put("flag", true);
        top.put("nothing", null);
        top.put("name", "DiT-S/2 ünïcode");
        top.put("list", List.of(1, 2.5, "x"));
        top.put("tuple", new Object[] {0.9, 0.999});
        Path f = tmp.resolve("rt.pt");
        PtWriter.save(f, top);
        @SuppressWarnings("unchecked")
        Map<String, Object> back = (Map<String, Object>) PtReader.load(f);
        assertEquals(List.copyOf(top.keySet()), List.copyOf(back.keySet()));
        @SuppressWarnings("unchecked")
        Map<String, Object> model = (Map<String, Object>) back.get("model");
        assertEquals(List.of("z.last", "a.first", "bf16", "strided"), List.copyOf(model.keySet()));
        for (String k : sd.keySet()) {
            Tensor want = sd.get(k), got = (Tensor) model.get(k);
            assertEquals(Tensors.dtype(want), Tensors.dtype(got), k);
            assertArrayEquals(Tensors.shape(want), Tensors.shape(got), k);
            assertTrue(torch.equal(want.contiguous(), got.contiguous()), k);
        }
        assertEquals(123456789012L, ((Number) back.get("step")).longValue());
        assertEquals(7, ((Number) back.get("small")).intValue());
        assertEquals(-3, ((Number) back.get("neg")).intValue());
        assertEquals(1e-4, (Double) back.get("lr"));
        assertEquals(true, back.get("flag"));
        assertNull(back.get("nothing"));
        assertEquals("DiT-S/2 ünïcode", back.get("name"));
        assertEquals(List.of(1, 2.5, "x"), back.get("list"));
        assertArrayEquals(new Object[] {0.9, 0.999}, (Object[]) back.get("tuple"));
    }

    @Test
    void ptDataIs64ByteAligned() throws Exception {
        Path f = tmp.resolve("aligned.pt");
        PtWriter.save(f, PtWriter.ordered(Map.of("w", torch.randn(5))));
        try (java.util.zip.ZipFile zip = new java.util.zip.ZipFile(f.toFile())) {
            assertTrue(zip.getEntry("archive/data/0") != null);
        }
        byte[] bytes = Files.readAllBytes(f);
        // Local header of archive/data/0: data starts after 30 + name + extra bytes.
        int at = indexOf(bytes, "archive/data/0".getBytes());
        int nameLen = "archive/data/0".length();
        int extraLen = (bytes[at - 2] & 0xff) | (bytes[at - 1] & 0xff) << 8;
        assertEquals(0, (at + nameLen + extraLen) % 64);
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) if (hay[i + j] != needle[j]) continue outer;
            return i;
        }
        return -1;
    }

    @Test
    void safetensorsRoundTrip() throws Exception {
        Map<String, Tensor> sd = new LinkedHashMap<>();
        sd.put("b", torch.randn(2, 3));
        sd.put("a", Tensors.longs(1, 2, 3));
        Path f = tmp.resolve("x.safetensors");
        Safetensors.write(f, sd, Map.of("dit_config", "{}"));
        Safetensors.Contents c = Safetensors.read(f);
        assertEquals(List.of("b", "a"), List.copyOf(c.tensors().keySet()));
        assertTrue(torch.equal(sd.get("b"), c.tensors().get("b")));
        assertEquals("{}", c.metadata().get("dit_config"));
    }

    @Test
    void officialTrainCheckpointPrefersEmaAndReadsTheNamespace() throws Exception {
        CheckpointFile f = CheckpointFile.read(TestFiles.vectors("p2_linear.train.pt"), true);
        assertEquals("ema", f.weightsKey());
        assertEquals("custom", f.args().get("model"));
        assertEquals(64, ((Number) f.args().get("image_size")).intValue());
        assertInstanceOf(Map.class, f.top().get("opt"));
        CheckpointFile raw = CheckpointFile.read(TestFiles.vectors("p2_linear.train.pt"), false);
        assertEquals("model", raw.weightsKey());
    }

    @Test
    void truncatedFilesAreReportedWithTheirName() throws Exception {
        for (String name : new String[] {"p2_linear.state_dict.pt", "p2_linear.safetensors", "p2_linear.train.pt"}) {
            byte[] all = Files.readAllBytes(TestFiles.vectors(name));
            Path cut = tmp.resolve("cut-" + name);
            Files.write(cut, Arrays.copyOf(all, all.length / 2));
            CheckpointException e = assertThrows(CheckpointException.class, () -> Pretrained.load(cut, P2_LINEAR, true, 0));
            assertTrue(e.getMessage().startsWith(cut.toString()) && e.getMessage().contains("truncated"), e.getMessage());
            assertTrue(!e.getMessage().contains("\n"));
        }
    }

    @Test
    void filesThatAreNotCheckpoints() throws Exception {
        Path text = tmp.resolve("notes.pt");
        Files.writeString(text, "hello, this is not a checkpoint at all");
        CheckpointException e = assertThrows(CheckpointException.class, () -> CheckpointFile.read(text, true));
        assertTrue(e.getMessage().contains("notes.pt") && e.getMessage().contains("not a"), e.getMessage());
        Path list = tmp.resolve("list.pt");
        PtWriter.save(list, List.of(1, 2));
        e = assertThrows(CheckpointException.class, () -> CheckpointFile.read(list, true));
        assertTrue(e.getMessage().contains("not a checkpoint"), e.getMessage());
        Path missing = tmp.resolve("missing.pt");
        e = assertThrows(CheckpointException.class, () -> CheckpointFile.read(missing, true));
        assertTrue(e.getMessage().contains("missing.pt"), e.getMessage());
    }

    @Test
    void shapeMismatchNamesTheKeyAndBothShapes() {
        DiTConfig wider = new DiTConfig(8, 2, 4, 48, 2, 2, 4.0, 0.1, 10, true);
        CheckpointException e = assertThrows(CheckpointException.class,
                () -> Pretrained.load(TestFiles.vectors("p2_linear.safetensors"), wider, true, 0));
        assertTrue(e.getMessage().endsWith("p2_linear.safetensors: shape mismatch for 'pos_embed': checkpoint has [1, 16, 32], model expects [1, 16, 48]"), e.getMessage());
    }

    @Test
    void adoptTakesOverMatchingTensorsAndCopiesTheRest() throws Exception {
        Map<String, Tensor> sd = new LinkedHashMap<>(Safetensors.read(TestFiles.vectors("p2_linear.safetensors")).tensors());
        String half = "blocks.0.attn.qkv.weight";
        sd.put(half, sd.get(half).to(ScalarType.Half));
        DiT adopted = new DiT(P2_LINEAR), copied = new DiT(P2_LINEAR);
        StateDicts.adopt(adopted, sd, "ckpt.safetensors");
        StateDicts.load(copied, sd, "ckpt.safetensors");
        Map<String, Tensor> a = StateDicts.of(adopted), c = StateDicts.of(copied);
        String fc2 = "blocks.1.mlp.fc2.weight";
        assertEquals(sd.get(fc2).data_ptr().address(), a.get(fc2).data_ptr().address(), "same dtype: one copy of the weights");
        assertTrue(sd.get(fc2).data_ptr().address() != c.get(fc2).data_ptr().address(), "load copies");
        assertEquals(ScalarType.Float, Tensors.dtype(a.get(half)), "another dtype is converted, not adopted");
        for (String k : sd.keySet()) assertTrue(torch.equal(a.get(k), c.get(k)), k);
    }

    @Test
    void missingAndUnexpectedKeys() throws Exception {
        Map<String, Tensor> sd = new LinkedHashMap<>(Safetensors.read(TestFiles.vectors("p2_linear.safetensors")).tensors());
        DiT model = new DiT(P2_LINEAR);
        Map<String, Tensor> missing = new LinkedHashMap<>(sd);
        missing.remove("blocks.1.mlp.fc2.bias");
        CheckpointException e = assertThrows(CheckpointException.class, () -> StateDicts.load(model, missing, "ckpt.pt"));
        assertEquals("ckpt.pt: missing key 'blocks.1.mlp.fc2.bias' (model expects shape [32])", e.getMessage());
        Map<String, Tensor> extra = new LinkedHashMap<>(sd);
        extra.put("blocks.2.attn.qkv.weight", torch.zeros(96, 32));
        e = assertThrows(CheckpointException.class, () -> StateDicts.load(model, extra, "ckpt.pt"));
        assertTrue(e.getMessage().contains("unexpected key 'blocks.2.attn.qkv.weight' with shape [96, 32]"), e.getMessage());
    }

    @Test
    void configIsInferredFromShapes() throws Exception {
        CheckpointFile f = CheckpointFile.read(TestFiles.vectors("p4_cosine.state_dict.pt"), true);
        DiTConfig c = Pretrained.configOf(f, 3);
        assertEquals(new DiTConfig(16, 4, 3, 24, 3, 3, 2.0, 0.1, 7, true), c);
        assertEquals(16, ConfigInference.defaultHeads(1024));
        // DDP's module. prefix is dropped
        Map<String, Tensor> wrapped = new LinkedHashMap<>();
        f.weights().forEach((k, v) -> wrapped.put("module." + k, v));
        assertEquals(f.weights().keySet(), StateDicts.stripWrapperPrefixes(wrapped).keySet());
    }
}
