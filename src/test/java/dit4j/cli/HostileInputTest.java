package dit4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dit4j.TestFiles;
import dit4j.TinyData;
import dit4j.data.IdxDataset;
import dit4j.io.Safetensors;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;
import java.util.zip.CRC32;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Crafted files and values, as an attacker or a careless user would give them: each is refused
 * with one line naming what is wrong, in bounded memory, and nothing is left behind.
 */
class HostileInputTest {
    @TempDir
    Path tmp;

    /** A safetensors file with this exact header and data section. */
    private Path safetensors(String name, String header, int dataBytes) throws Exception {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        Path f = tmp.resolve(name);
        Files.write(f, b.array());
        return f;
    }

    private static String refusal(Path f) {
        try {
            Safetensors.read(f);
        } catch (Exception e) {
            return e.getMessage();
        }
        throw new AssertionError(f + " was accepted");
    }

    @Test
    void safetensorsIsReadAsStrictlyAsTheReferenceLibrary() throws Exception {
        String t = "{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[%d,%d]}";
        assertTrue(refusal(safetensors("dup.safetensors", "{\"a\":" + t.formatted(0, 8) + ",\"a\":" + t.formatted(8, 16) + "}", 16))
                .contains("duplicate tensor name"));
        assertTrue(refusal(safetensors("overlap.safetensors", "{\"a\":" + t.formatted(0, 8) + ",\"b\":" + t.formatted(4, 12) + "}", 12))
                .contains("overlaps"));
        assertTrue(refusal(safetensors("gap.safetensors", "{\"a\":" + t.formatted(0, 8) + ",\"b\":" + t.formatted(12, 20) + "}", 20))
                .contains("a gap before it"));
        assertTrue(refusal(safetensors("float.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,10]}}", 10))
                .contains("shape entry 2.5"));
        assertTrue(refusal(safetensors("string.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]}}", 8))
                .contains("shape entry \"2\""));
        assertTrue(refusal(safetensors("negative.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8))
                .contains("shape entry -2"));
        assertTrue(refusal(safetensors("trailing.safetensors", "{\"a\":" + t.formatted(0, 8) + "}", 12)).contains("trailing bytes"));
        assertTrue(refusal(safetensors("truncated.safetensors", "{\"a\":" + t.formatted(0, 8) + "}", 4)).contains("truncated"));
        // A shape of 2^62 elements is refused from the header, before anything is allocated.
        String huge = "{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904],\"data_offsets\":[0,8]}}";
        assertTrue(refusal(safetensors("huge.safetensors", huge, 8)).contains("'a'"));
        // The good twin of these files is read.
        assertEquals(2, Safetensors.read(safetensors("good.safetensors", "{\"b\":" + t.formatted(8, 16) + ",\"a\":" + t.formatted(0, 8) + "}", 16)).tensors().size());
    }

    /** A gzip file whose IDX header declares {@code n} images of 28x28 but which holds {@code bodyBytes} of pixels. */
    private Path idxImages(Path dir, int n, long bodyBytes) throws Exception {
        Files.createDirectories(dir);
        Path f = dir.resolve("train-images-idx3-ubyte.gz");
        try (DataOutputStream out = new DataOutputStream(new GZIPOutputStream(Files.newOutputStream(f)))) {
            out.writeInt(IdxDataset.IMAGES_MAGIC);
            out.writeInt(n);
            out.writeInt(28);
            out.writeInt(28);
            byte[] zeros = new byte[1 << 20];
            for (long left = bodyBytes; left > 0; left -= zeros.length) out.write(zeros, 0, (int) Math.min(zeros.length, left));
        }
        try (DataOutputStream out = new DataOutputStream(new GZIPOutputStream(Files.newOutputStream(dir.resolve("train-labels-idx1-ubyte.gz"))))) {
            out.writeInt(IdxDataset.LABELS_MAGIC);
            out.writeInt(n);
            out.write(new byte[Math.min(n, 100)]);
        }
        return dir;
    }

    @Test
    void idxBombsAreRefusedWithoutInflatingThem() throws Exception {
        // Declares 10 images, inflates to 1 GB: only the declared bytes (and one more) are read.
        Path bomb = idxImages(tmp.resolve("bomb"), 10, 1L << 30);
        long before = System.nanoTime();
        Cli.Result r = Cli.run("train", "--data-path", bomb.toString(), "--steps", "1", "--run-dir", tmp.resolve("run").toString());
        assertEquals(1, r.exit(), r.err());
        assertTrue(r.err().contains("header says 10 images of 28x28"), r.err());
        assertTrue((System.nanoTime() - before) / 1e9 < 20, "the bomb was inflated");
        // A header that declares more than an IDX file may hold.
        Path claims = idxImages(tmp.resolve("claims"), Integer.MAX_VALUE, 100);
        r = Cli.run("train", "--data-path", claims.toString(), "--steps", "1", "--run-dir", tmp.resolve("run2").toString());
        assertEquals(1, r.exit(), r.err());
        assertTrue(r.err().contains("more than an IDX file may hold"), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertFalse(Files.exists(tmp.resolve("run")) || Files.exists(tmp.resolve("run2")), "no run folder for a run that cannot start");
    }

    /** A valid PNG header claiming {@code w x h} pixels, with almost no data. */
    private static byte[] pngClaiming(int w, int h) throws Exception {
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        png.write(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
        ByteBuffer ihdr = ByteBuffer.allocate(13).putInt(w).putInt(h).put((byte) 8).put((byte) 0).put((byte) 0).put((byte) 0).put((byte) 0);
        chunk(png, "IHDR", ihdr.array());
        chunk(png, "IDAT", new byte[] {0x78, (byte) 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01});
        chunk(png, "IEND", new byte[0]);
        return png.toByteArray();
    }

    private static void chunk(ByteArrayOutputStream out, String type, byte[] data) throws Exception {
        DataOutputStream d = new DataOutputStream(out);
        d.writeInt(data.length);
        byte[] t = type.getBytes(StandardCharsets.US_ASCII);
        d.write(t);
        d.write(data);
        CRC32 crc = new CRC32();
        crc.update(t);
        crc.update(data);
        d.writeInt((int) crc.getValue());
    }

    @Test
    void imageBombsAreRefusedFromTheirHeader() throws Exception {
        Path root = tmp.resolve("images");
        for (String c : new String[] {"a", "b"}) {
            Files.createDirectories(root.resolve(c));
            Files.write(root.resolve(c).resolve("bomb.png"), pngClaiming(30000, 30000));
        }
        String[] tiny = {"--depth", "1", "--hidden-size", "32", "--num-heads", "2", "--global-batch-size", "2"};
        Cli.Result r = Cli.run(concat(new String[] {"train", "--data-path", root.toString(), "--image-size", "8", "--steps", "1",
                "--run-dir", tmp.resolve("run").toString()}, tiny));
        assertEquals(1, r.exit(), r.err());
        assertTrue(r.err().contains("30000x30000 pixels is more than the limit"), r.err());
        r = Cli.run("train", "--data-path", root.toString(), "--image-size", "8", "--skip-bad", "--steps", "1", "--run-dir", tmp.resolve("run").toString());
        assertEquals(1, r.exit(), r.err());
        assertTrue(r.err().contains("none of the 2 images could be decoded"), r.err());
    }

    private static String[] concat(String[] a, String[] b) {
        return Stream.concat(Stream.of(a), Stream.of(b)).toArray(String[]::new);
    }

    @Test
    void latentStoreHeadersAreChecked() throws Exception {
        Path store = tmp.resolve("store");
        Files.createDirectories(store);
        String manifest = "{\"format\":\"dit4j-latents-1\",\"complete\":true,\"num_images\":%s,\"channels\":4,\"latent_size\":%s,"
                + "\"shard_size\":%s,\"num_classes\":2,\"flips\":false,\"scaling_factor\":0.18215}";
        String[][] cases = {
            {"2000000000000", "4", "10", "'num_images' must be an integer"},
            {"-5", "4", "10", "'num_images' must be an integer"},
            {"10", "100000", "10", "'latent_size' must be an integer"},
            {"10", "4", "0", "'shard_size' must be an integer"},
        };
        for (String[] c : cases) {
            Files.writeString(store.resolve("features.json"), manifest.formatted(c[0], c[1], c[2]));
            Cli.Result r = Cli.run("train", "--features", store.toString(), "--steps", "1", "--run-dir", tmp.resolve("run").toString());
            assertEquals(1, r.exit(), r.err());
            assertTrue(r.err().contains(c[3]) && r.err().contains("features.json"), r.err());
        }
        // A shard whose mean claims data far outside the file.
        Files.writeString(store.resolve("features.json"), manifest.formatted("2", "1", "2"));
        String header = "{\"labels\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,16]},"
                + "\"mean\":{\"dtype\":\"F16\",\"shape\":[2,4,1,1],\"data_offsets\":[1099511627776,1099511627792]},"
                + "\"logvar\":{\"dtype\":\"F16\",\"shape\":[2,4,1,1],\"data_offsets\":[16,32]}}";
        Path shard = safetensors("store/shard-00000.safetensors", header, 32);
        Cli.Result r = Cli.run("train", "--features", store.toString(), "--steps", "1", "--run-dir", tmp.resolve("run").toString());
        assertEquals(1, r.exit(), r.err());
        assertTrue(r.err().contains(shard.getFileName().toString()) && r.err().contains("'mean' has data_offsets"), r.err());
    }

    @Test
    void aNonFiniteCheckpointIsRefusedBySample() throws Exception {
        Path ckpt = tmp.resolve("nan.safetensors");
        var weights = Safetensors.read(TestFiles.vectors("p2_linear.safetensors"));
        var tensors = new java.util.LinkedHashMap<>(weights.tensors());
        String victim = "blocks.1.mlp.fc2.weight";
        tensors.get(victim).fill_(new org.bytedeco.pytorch.Scalar(Double.NaN));
        Safetensors.write(ckpt, tensors, weights.metadata());
        Cli.Result r = Cli.run("sample", "--checkpoint", ckpt.toString(), "--num-heads", "2", "--labels", "1", "--steps", "2",
                "--out", tmp.resolve("s").toString());
        assertEquals(1, r.exit(), r.err());
        assertTrue(r.err().contains("'" + victim + "' holds NaN or infinite values"), r.err());
    }

    @Test
    @SuppressWarnings("unchecked")
    void checkpointArgumentsAreBoundedBeforeAllocating() throws Exception {
        Path data = TinyData.idx(tmp.resolve("data"), 16, 8, 4, 3);
        Path run = tmp.resolve("run");
        assertEquals(0, Cli.run(TrainCliTest.train(data, run, "--steps", "1")).exit());
        Path good = run.resolve("checkpoints/0000001.pt");
        Map<String, Object> top = new java.util.LinkedHashMap<>(dit4j.io.CheckpointFile.read(good, true).top());
        Map<String, Object> args = new java.util.LinkedHashMap<>((Map<String, Object>) top.get("args"));
        Map<String, Object> config = new java.util.LinkedHashMap<>((Map<String, Object>) args.get("dit_config"));

        args.put("diffusion_steps", 2_000_000_000L);
        top.put("args", args);
        Path steps = tmp.resolve("steps.pt");
        dit4j.io.PtWriter.save(steps, top);
        Cli.Result r = Cli.run("sample", "--checkpoint", steps.toString(), "--labels", "1", "--steps", "2", "--out", tmp.resolve("s").toString());
        assertEquals(1, r.exit(), r.err());
        assertTrue(r.err().contains("args.diffusion_steps must be an integer in [1, 100000]"), r.err());
        r = Cli.run("train", "--resume", steps.toString(), "--steps", "3");
        assertEquals(1, r.exit(), r.err());
        assertTrue(r.err().contains("steps.pt: its recorded options are out of range: --diffusion-steps must be in [1, 100000]"), r.err());

        args.put("diffusion_steps", 1000);
        config.put("input_size", 100000);
        args.put("dit_config", config);
        Path size = tmp.resolve("size.pt");
        dit4j.io.PtWriter.save(size, top);
        for (String[] cmd : new String[][] {{"sample", "--checkpoint", size.toString(), "--labels", "1", "--out", tmp.resolve("s").toString()},
                {"train", "--resume", size.toString(), "--steps", "3"}, {"info", "--checkpoint", size.toString()}}) {
            r = Cli.run(cmd);
            assertEquals(1, r.exit(), String.join(" ", cmd) + ": " + r.err());
            assertTrue(r.err().contains("input_size 100000 is larger than 8192") && r.err().contains("size.pt"), r.err());
        }
    }

    @Test
    void aZipBombCheckpointIsRefusedBeforeInflating() throws Exception {
        Path stored = tmp.resolve("big.pt");
        dit4j.io.PtWriter.save(stored, dit4j.io.PtWriter.ordered(Map.of("w", org.bytedeco.pytorch.global.torch.zeros(16L << 20))));
        // The same archive with every entry deflated: 64 MB of zeros become a few kilobytes.
        Path bomb = tmp.resolve("bomb.pt");
        try (var in = new java.util.zip.ZipFile(stored.toFile()); var out = new java.util.zip.ZipOutputStream(Files.newOutputStream(bomb))) {
            for (var e = in.entries(); e.hasMoreElements(); ) {
                var entry = e.nextElement();
                out.putNextEntry(new java.util.zip.ZipEntry(entry.getName()));
                try (var data = in.getInputStream(entry)) {
                    data.transferTo(out);
                }
                out.closeEntry();
            }
        }
        assertTrue(Files.size(bomb) < (1 << 20), "the bomb is small");
        Cli.Result r = Cli.run("info", "--checkpoint", bomb.toString());
        assertEquals(1, r.exit(), r.err());
        assertTrue(r.err().contains("(a zip bomb?): refused") && r.err().contains("bomb.pt"), r.err());
    }

    @Test
    void aFailedWriteLeavesNoTemporaryFile() throws Exception {
        Path data = TinyData.idx(tmp.resolve("data"), 16, 8, 4, 3);
        Path run = tmp.resolve("run");
        assertEquals(0, Cli.run(TrainCliTest.train(data, run, "--steps", "1")).exit());
        Path out = tmp.resolve("out");
        Files.createDirectories(out.resolve("samples.npz"));  // a folder where the npz goes
        Cli.Result r = Cli.run("sample", "--checkpoint", run.resolve("checkpoints/0000001.pt").toString(), "--labels", "1",
                "--steps", "2", "--out", out.toString(), "--no-images");
        assertEquals(1, r.exit(), r.err());
        assertTrue(r.err().contains("samples.npz: is a folder"), r.err());
        try (Stream<Path> s = Files.list(out)) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().contains(".tmp-")), "a temporary file was left behind");
        }
    }
}
