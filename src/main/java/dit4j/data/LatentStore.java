package dit4j.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dit4j.io.CheckpointException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A dataset of VAE latents extracted once from images (as fast-DiT does), read back as an
 * {@link ImageDataset}: each read draws a fresh latent {@code (mean + std * eps) * scaling} from
 * the stored posterior, with eps fixed by the read's seed.
 *
 * <p>Layout: {@code features.json} (the manifest) and {@code shard-NNNNN.safetensors} files, each
 * holding {@code mean} and {@code logvar} (F16, N x C x h x w), optionally {@code mean_flip} and
 * {@code logvar_flip} for the mirrored images, and {@code labels} (I64). Shards are memory-mapped,
 * so a store larger than memory trains fine.
 */
public final class LatentStore implements ImageDataset {
    public static final String MANIFEST = "features.json";
    public static final String FORMAT = "dit4j-latents-1";

    private final Path dir;
    private final JsonNode manifest;
    private final int size, channels, latentSize, shardSize, numClasses;
    private final boolean flips;
    private final double scaling;
    private final List<String> classNames = new ArrayList<>();
    private final long[] labels;
    private final Map<Integer, Shard> shards = new ConcurrentHashMap<>();

    private LatentStore(Path dir, JsonNode m) throws IOException {
        this.dir = dir;
        this.manifest = m;
        Path f = dir.resolve(MANIFEST);
        size = field(f, m, "num_images", 1, Integer.MAX_VALUE);
        channels = field(f, m, "channels", 1, 64);
        latentSize = field(f, m, "latent_size", 1, 1024);
        shardSize = field(f, m, "shard_size", 1, Integer.MAX_VALUE);
        numClasses = field(f, m, "num_classes", 1, 1_000_000);
        flips = m.path("flips").asBoolean();
        scaling = m.path("scaling_factor").asDouble();
        if (!(scaling > 0) || !Double.isFinite(scaling)) throw new CheckpointException(f + ": scaling_factor must be a positive number, got " + m.path("scaling_factor"));
        m.path("class_names").forEach(n -> classNames.add(n.asText()));
        labels = new long[size];
        for (int s = 0; s * (long) shardSize < size; s++) {
            Shard sh = shard(s);
            int rows = (int) Math.min(shardSize, size - (long) s * shardSize);
            long[] l = sh.longs("labels", rows);
            for (long y : l) {
                if (y < 0 || y >= numClasses) throw new CheckpointException(sh.file + ": label " + y + " is outside [0, " + numClasses + ")");
            }
            System.arraycopy(l, 0, labels, s * shardSize, l.length);
            long[] image = {rows, channels, latentSize, latentSize};
            for (String t : flips ? new String[] {"mean", "logvar", "mean_flip", "logvar_flip"} : new String[] {"mean", "logvar"}) sh.check(t, "F16", image);
        }
    }

    /** An integer field of the manifest in [min, max], or a one-line error naming it. */
    private static int field(Path f, JsonNode m, String name, long min, long max) throws CheckpointException {
        JsonNode v = m.get(name);
        if (v == null || !v.isIntegralNumber() || !v.canConvertToLong() || v.asLong() < min || v.asLong() > max) {
            throw new CheckpointException(f + ": '" + name + "' must be an integer in [" + min + ", " + max + "], got " + v);
        }
        return (int) v.asLong();
    }

    /** Opens a complete store. */
    public static LatentStore open(Path dir) throws IOException {
        JsonNode m = readManifest(dir);
        if (m == null) throw new CheckpointException(dir + ": no " + MANIFEST + " (not a feature store made by dit extract-features)");
        if (!m.path("complete").asBoolean()) throw new CheckpointException(dir + ": feature extraction did not finish; run dit extract-features again to resume it");
        return new LatentStore(dir, m);
    }

    public static JsonNode readManifest(Path dir) throws IOException {
        Path f = dir.resolve(MANIFEST);
        if (!Files.isRegularFile(f)) return null;
        JsonNode m = new ObjectMapper().readTree(f.toFile());
        if (!FORMAT.equals(m.path("format").asText())) throw new CheckpointException(f + ": not a " + FORMAT + " manifest");
        return m;
    }

    public static Path shardPath(Path dir, int shard) {
        return dir.resolve(String.format("shard-%05d.safetensors", shard));
    }

    public JsonNode manifest() {
        return manifest;
    }

    public double scalingFactor() {
        return scaling;
    }

    @Override
    public int size() {
        return size;
    }

    @Override
    public int channels() {
        return channels;
    }

    @Override
    public int imageSize() {
        return latentSize;
    }

    @Override
    public int numClasses() {
        return numClasses;
    }

    @Override
    public List<String> classNames() {
        return classNames;
    }

    @Override
    public int label(int index) {
        return (int) labels[index];
    }

    @Override
    public void read(int index, boolean flip, float[] out, int offset) throws IOException {
        read(index, flip, index, out, offset);
    }

    @Override
    public void read(int index, boolean flip, long seed, float[] out, int offset) throws IOException {
        Shard sh = shard(index / shardSize);
        int row = index % shardSize, n = imageLength();
        boolean f = flip && flips;
        float[] mean = sh.halfs(f ? "mean_flip" : "mean", row, n);
        float[] logvar = sh.halfs(f ? "logvar_flip" : "logvar", row, n);
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = 0; i < n; i++) {
            double eps = gaussian(r);
            out[offset + i] = (float) ((mean[i] + Math.exp(0.5 * logvar[i]) * eps) * scaling);
        }
    }

    @Override
    public String describe(int index) {
        return shardPath(dir, index / shardSize) + "#" + (index % shardSize);
    }

    /** A standard normal draw (Box-Muller). */
    private static double gaussian(SplittableRandom r) {
        double u1 = 1.0 - r.nextDouble(), u2 = r.nextDouble();
        return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    }

    private Shard shard(int i) throws IOException {
        Shard s = shards.get(i);
        if (s != null) return s;
        s = new Shard(shardPath(dir, i));
        shards.put(i, s);
        return s;
    }

    /** A memory-mapped safetensors shard. */
    private static final class Shard {
        final Path file;
        final MappedByteBuffer data;
        final JsonNode header;
        final long dataStart;

        Shard(Path file) throws IOException {
            this.file = file;
            if (!Files.isRegularFile(file)) throw new CheckpointException(file + ": missing shard of the feature store");
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                long size = ch.size();
                ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
                if (size < 8 || ch.read(len, 0) < 8) throw new CheckpointException(file + ": truncated shard (" + size + " bytes)");
                long n = len.getLong(0);
                if (n <= 0 || n > (100L << 20) || 8 + n > size) {
                    throw new CheckpointException(file + ": header length " + n + " does not fit a shard of " + size + " bytes");
                }
                if (size > Integer.MAX_VALUE) throw new CheckpointException(file + ": a shard must be under 2 GB, this one has " + size + " bytes");
                ByteBuffer h = ByteBuffer.allocate((int) n);
                ch.read(h, 8);
                try {
                    header = new ObjectMapper().readTree(new String(h.array(), StandardCharsets.UTF_8));
                } catch (IOException e) {
                    throw new CheckpointException(file + ": shard header is not JSON");
                }
                if (header == null || !header.isObject()) throw new CheckpointException(file + ": shard header is not a JSON object");
                dataStart = 8 + n;
                data = ch.map(FileChannel.MapMode.READ_ONLY, 0, size);
                data.order(ByteOrder.LITTLE_ENDIAN);
            }
        }

        long[] longs(String name, int rows) throws CheckpointException {
            long begin = check(name, "I64", new long[] {rows});
            long[] out = new long[rows];
            for (int i = 0; i < out.length; i++) out[i] = data.getLong((int) (dataStart + begin + 8L * i));
            return out;
        }

        float[] halfs(String name, int row, int n) throws CheckpointException {
            JsonNode t = tensor(name, "F16");
            long begin = t.path("data_offsets").get(0).asLong() + 2L * row * n;
            float[] out = new float[n];
            for (int i = 0; i < n; i++) out[i] = halfToFloat(data.getShort((int) (dataStart + begin + 2L * i)));
            return out;
        }

        /** Checks a tensor's dtype, shape and data range against the file; returns its data offset. */
        long check(String name, String dtype, long[] shape) throws CheckpointException {
            JsonNode t = tensor(name, dtype);
            JsonNode sh = t.path("shape"), off = t.path("data_offsets");
            boolean shapeOk = sh.isArray() && sh.size() == shape.length;
            for (int i = 0; shapeOk && i < shape.length; i++) shapeOk = sh.get(i).isIntegralNumber() && sh.get(i).asLong() == shape[i];
            if (!shapeOk) throw new CheckpointException(file + ": tensor '" + name + "' has shape " + sh + ", expected " + java.util.Arrays.toString(shape));
            if (!off.isArray() || off.size() != 2 || !off.get(0).isIntegralNumber() || !off.get(1).isIntegralNumber()) {
                throw new CheckpointException(file + ": tensor '" + name + "' has no integer data_offsets");
            }
            long begin = off.get(0).asLong(), end = off.get(1).asLong();
            long bytes = (dtype.equals("I64") ? 8 : 2);
            for (long d : shape) bytes *= d;
            if (begin < 0 || end - begin != bytes || dataStart + end > data.capacity()) {
                throw new CheckpointException(file + ": tensor '" + name + "' has data_offsets [" + begin + ", " + end + "], expected " + bytes
                        + " bytes within the shard's " + (data.capacity() - dataStart) + " bytes of data");
            }
            return begin;
        }

        private JsonNode tensor(String name, String dtype) throws CheckpointException {
            JsonNode t = header.get(name);
            if (t == null || !dtype.equals(t.path("dtype").asText())) throw new CheckpointException(file + ": no " + dtype + " tensor '" + name + "'");
            return t;
        }
    }

    /** IEEE 754 half precision to float. */
    static float halfToFloat(short h) {
        int bits = h & 0xffff;
        int sign = (bits & 0x8000) << 16, exp = (bits >>> 10) & 0x1f, mant = bits & 0x3ff;
        if (exp == 0x1f) return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
        if (exp == 0) {
            if (mant == 0) return Float.intBitsToFloat(sign);
            float v = mant / 1024f * (float) Math.pow(2, -14);
            return sign != 0 ? -v : v;
        }
        return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
    }
}
