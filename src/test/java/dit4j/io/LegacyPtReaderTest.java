package dit4j.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dit4j.TestFiles;
import dit4j.runtime.Tensors;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The legacy (pre-zip) torch.save format, on a file PyTorch 1.13 wrote with _use_new_zipfile_serialization=False. */
class LegacyPtReaderTest {

    @Test
    void readsEveryTensorOfALegacyFile() throws Exception {
        Path file = TestFiles.resource("inception/legacy.pth");
        assertEquals(PtReader.Format.LEGACY, PtReader.format(file));
        CheckpointFile ck = CheckpointFile.read(file, true);
        Map<String, Tensor> want = Safetensors.read(TestFiles.resource("inception/legacy.expected.safetensors")).tensors();
        assertEquals(List.copyOf(want.keySet()), List.copyOf(ck.weights().keySet()), "keys in file order");
        for (Map.Entry<String, Tensor> e : want.entrySet()) {
            Tensor got = ck.weights().get(e.getKey());
            assertArrayEquals(Tensors.shape(e.getValue()), Tensors.shape(got), e.getKey());
            assertArrayEquals(Tensors.toDoubles(e.getValue()), Tensors.toDoubles(got), 0.0, e.getKey());
        }
        assertEquals(7L, Tensors.toLongs(ck.weights().get("bn.num_batches_tracked"))[0]);
    }

    @Test
    void detectsFormatsBySignature(@TempDir Path dir) throws Exception {
        Path junk = dir.resolve("junk.pt");
        Files.write(junk, new byte[] {(byte) 0x80, 2, 'x', 'y', 'z'});
        assertEquals(PtReader.Format.OTHER, PtReader.format(junk));
        CheckpointException e = assertThrows(CheckpointException.class, () -> PtReader.load(junk));
        assertTrue(e.getMessage().contains("junk.pt"), e.getMessage());

        byte[] full = Files.readAllBytes(TestFiles.resource("inception/legacy.pth"));
        Path cut = dir.resolve("cut.pth");
        Files.write(cut, java.util.Arrays.copyOf(full, full.length - 10));
        e = assertThrows(CheckpointException.class, () -> PtReader.load(cut));
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
    }
}
