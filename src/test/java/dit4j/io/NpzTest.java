package dit4j.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dit4j.TestFiles;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NpzTest {
    @TempDir
    Path tmp;

    @Test
    void roundTripOfAllDtypes() throws Exception {
        byte[] px = new byte[2 * 3 * 4 * 3];
        for (int i = 0; i < px.length; i++) px[i] = (byte) (i * 7);
        Map<String, Npz.Array> arrays = new LinkedHashMap<>();
        arrays.put("arr_0", Npz.Array.uint8(px, 2, 3, 4, 3));
        arrays.put("labels", Npz.Array.int64(new long[] {207, -1, Long.MAX_VALUE}, 3));
        arrays.put("losses", Npz.Array.float32(new float[] {0.5f, Float.NaN, -1e-30f, 3f}, 2, 2));
        arrays.put("scalar", Npz.Array.float32(new float[] {42f}));
        Path f = tmp.resolve("samples.npz");
        Npz.write(f, arrays);

        Map<String, Npz.Array> back = Npz.read(f);
        assertEquals(List.of("arr_0", "labels", "losses", "scalar"), List.copyOf(back.keySet()));
        assertEquals(Npz.UINT8, back.get("arr_0").dtype());
        assertArrayEquals(new long[] {2, 3, 4, 3}, back.get("arr_0").shape());
        assertArrayEquals(px, back.get("arr_0").uint8s());
        assertArrayEquals(new long[] {207, -1, Long.MAX_VALUE}, back.get("labels").int64s());
        assertArrayEquals(new long[] {3}, back.get("labels").shape());
        assertArrayEquals(new float[] {0.5f, Float.NaN, -1e-30f, 3f}, back.get("losses").float32s());
        assertArrayEquals(new long[] {}, back.get("scalar").shape());
        assertArrayEquals(new float[] {42f}, back.get("scalar").float32s());
    }

    @Test
    void entriesAreStoredAndDataIs64ByteAligned() throws Exception {
        Path f = tmp.resolve("a.npz");
        Npz.write(f, Map.of("arr_0", Npz.Array.uint8(new byte[6], 1, 2, 3, 1)));
        try (ZipFile zip = new ZipFile(f.toFile())) {
            ZipEntry e = zip.getEntry("arr_0.npy");
            assertEquals(ZipEntry.STORED, e.getMethod());
            byte[] npy = zip.getInputStream(e).readAllBytes();
            int headerLen = (npy[8] & 0xFF) | (npy[9] & 0xFF) << 8;
            int dataStart = 10 + headerLen;
            assertEquals(0, dataStart % 64);
            assertEquals(6, npy.length - dataStart);
            assertEquals('\n', npy[dataStart - 1]);
            String header = new String(npy, 10, headerLen, StandardCharsets.US_ASCII);
            assertTrue(header.startsWith("{'descr': '|u1', 'fortran_order': False, 'shape': (1, 2, 3, 1), }"), header);
        }
        for (long[] shape : new long[][] {{}, {5}, {100000, 256, 256, 3}, {1, 2, 3, 4, 5, 6, 7, 8}}) {
            byte[] h = Npz.npyHeader(Npz.FLOAT32, shape);
            assertEquals(0, h.length % 64, "header for " + shape.length + "-d shape");
        }
        assertTrue(new String(Npz.npyHeader(Npz.INT64, new long[] {5}), StandardCharsets.US_ASCII).contains("'shape': (5,), }"));
    }

    @Test
    void readsNumpyWrittenFixture() throws Exception {
        // Made with numpy 1.24.2 (/usr/bin/python3):
        //   np.savez('numpy_savez.npz', arr_0=np.arange(2*3*2*3, dtype=np.uint8).reshape(2,3,2,3),
        //            labels=np.array([7, -1], dtype=np.int64), f=np.array([[0.5, -2.25, 3e-8]], dtype=np.float32))
        Map<String, Npz.Array> a = Npz.read(TestFiles.resource("npz/numpy_savez.npz"));
        assertEquals(List.of("arr_0", "labels", "f"), List.copyOf(a.keySet()));
        assertArrayEquals(new long[] {2, 3, 2, 3}, a.get("arr_0").shape());
        byte[] px = a.get("arr_0").uint8s();
        for (int i = 0; i < px.length; i++) assertEquals(i, px[i]);
        assertArrayEquals(new long[] {7, -1}, a.get("labels").int64s());
        assertArrayEquals(new long[] {1, 3}, a.get("f").shape());
        assertArrayEquals(new float[] {0.5f, -2.25f, 3e-8f}, a.get("f").float32s());
    }

    @Test
    void garbageFileGivesOneLineErrorNamingIt() throws Exception {
        Path f = tmp.resolve("garbage.npz");
        Files.writeString(f, "this is not a zip archive at all");
        CheckpointException e = assertThrows(CheckpointException.class, () -> Npz.read(f));
        assertTrue(e.getMessage().contains(f.toString()), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
    }

    @Test
    void unsupportedDtypeIsNamed() throws Exception {
        Path f = tmp.resolve("f16.npz");
        byte[] header = Npz.npyHeader("<f2", new long[] {1});
        try (var zip = new java.util.zip.ZipOutputStream(Files.newOutputStream(f))) {
            zip.putNextEntry(new ZipEntry("x.npy"));
            zip.write(header);
            zip.write(new byte[2]);
            zip.closeEntry();
        }
        CheckpointException e = assertThrows(CheckpointException.class, () -> Npz.read(f));
        assertTrue(e.getMessage().contains("x.npy") && e.getMessage().contains("'<f2'"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Npz.Array.uint8(new byte[5], 2, 3));
        assertThrows(IllegalArgumentException.class, () -> new Npz.Array("<f2", new long[] {1}, new byte[2]));
    }

    @Test
    void float64RoundTrips() throws Exception {
        // FID statistics (mu, sigma) are float64.
        Path f = tmp.resolve("stats.npz");
        Npz.write(f, java.util.Map.of("mu", Npz.Array.float64(new double[] {1.5, -2.25}, 2)));
        assertArrayEquals(new double[] {1.5, -2.25}, Npz.read(f).get("mu").float64s(), 0.0);
    }
}
