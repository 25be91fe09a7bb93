package dit4j.io;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

/**
 * NumPy {@code .npz} archives: a zip of {@code .npy} files, as {@code np.savez} writes them
 * (stored, not deflated). The main use is {@code samples.npz} in the layout of DiT's sample_ddp.py
 * and OpenAI's evaluator: {@code arr_0} uint8 N x H x W x C, plus {@code labels} int64.
 *
 * <p>Supported dtypes: uint8 ({@code |u1}), int64 ({@code <i8}), float32 ({@code <f4}), float64
 * ({@code <f8}, FID statistics), C order.
 * Each array is held in one byte[], so it must stay under 2 GiB.
 */
public final class Npz {
    private Npz() {}

    public static final String UINT8 = "|u1", INT64 = "<i8", FLOAT32 = "<f4", FLOAT64 = "<f8";

    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final int ALIGN = 64; // numpy >= 1.14 aligns the data start to 64 bytes

    /** One array: a NumPy dtype string, its shape, and its little-endian C-order bytes. */
    public record Array(String dtype, long[] shape, byte[] data) {
        public Array {
            int item = itemSize(dtype);
            if (item < 0) throw new IllegalArgumentException("unsupported dtype '" + dtype + "' (expected |u1, <i8, <f4 or <f8)");
            shape = shape.clone();
            long n = count(shape);
            if (n * item != data.length) throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " of " + dtype + " needs " + n * item + " bytes, got " + data.length);
        }

        /** Wraps {@code data} without copying it (sample arrays can be large). */
        public static Array uint8(byte[] data, long... shape) {
            return new Array(UINT8, shape, data);
        }

        public static Array int64(long[] data, long... shape) {
            ByteBuffer b = ByteBuffer.allocate(Math.multiplyExact(data.length, 8)).order(ByteOrder.LITTLE_ENDIAN);
            b.asLongBuffer().put(data);
            return new Array(INT64, shape, b.array());
        }

        public static Array float32(float[] data, long... shape) {
            ByteBuffer b = ByteBuffer.allocate(Math.multiplyExact(data.length, 4)).order(ByteOrder.LITTLE_ENDIAN);
            b.asFloatBuffer().put(data);
            return new Array(FLOAT32, shape, b.array());
        }

        public static Array float64(double[] data, long... shape) {
            ByteBuffer b = ByteBuffer.allocate(Math.multiplyExact(data.length, 8)).order(ByteOrder.LITTLE_ENDIAN);
            b.asDoubleBuffer().put(data);
            return new Array(FLOAT64, shape, b.array());
        }

        public double[] float64s() {
            require(FLOAT64);
            double[] out = new double[data.length / 8];
            ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN).asDoubleBuffer().get(out);
            return out;
        }

        @Override
        public long[] shape() {
            return shape.clone();
        }

        /** Number of elements. */
        public long size() {
            return count(shape);
        }

        /** The uint8 values; the array's own storage, not a copy. */
        public byte[] uint8s() {
            require(UINT8);
            return data;
        }

        public long[] int64s() {
            require(INT64);
            long[] out = new long[data.length / 8];
            ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN).asLongBuffer().get(out);
            return out;
        }

        public float[] float32s() {
            require(FLOAT32);
            float[] out = new float[data.length / 4];
            ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
            return out;
        }

        private void require(String want) {
            if (!dtype.equals(want)) throw new IllegalStateException("array is " + dtype + ", not " + want);
        }

        @Override
        public String toString() {
            return "Array[" + dtype + " " + Arrays.toString(shape) + "]";
        }
    }

    private static int itemSize(String dtype) {
        return switch (dtype) {
            case UINT8 -> 1;
            case INT64 -> 8;
            case FLOAT32 -> 4;
            case FLOAT64 -> 8;
            default -> -1;
        };
    }

    private static long count(long[] shape) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** Writes the arrays as {@code name.npy} entries, stored uncompressed like np.savez, atomically. */
    public static void write(Path file, Map<String, Array> arrays) throws IOException {
        for (String name : arrays.keySet()) {
            if (name.isEmpty() || name.contains("/") || name.contains("\\")) throw new IllegalArgumentException("bad array name '" + name + "'");
        }
        AtomicFiles.write(file, out -> {
            ZipOutputStream zip = new ZipOutputStream(out);
            for (Map.Entry<String, Array> e : arrays.entrySet()) {
                Array a = e.getValue();
                byte[] header = npyHeader(a.dtype(), a.shape);
                // Stored entries need their size and CRC before the data.
                CRC32 crc = new CRC32();
                crc.update(header);
                crc.update(a.data);
                ZipEntry entry = new ZipEntry(e.getKey() + ".npy");
                entry.setMethod(ZipEntry.STORED);
                entry.setSize((long) header.length + a.data.length);
                entry.setCompressedSize(entry.getSize());
                entry.setCrc(crc.getValue());
                zip.putNextEntry(entry);
                zip.write(header);
                zip.write(a.data);
                zip.closeEntry();
            }
            zip.finish(); // not close(): AtomicFiles owns the stream
        });
    }

    /** The .npy version 1.0 header, padded with spaces and a newline so the data starts 64-byte aligned. */
    public static byte[] npyHeader(String dtype, long[] shape) {
        StringBuilder dims = new StringBuilder();
        for (long d : shape) dims.append(d).append(", ");
        String shapeText = shape.length == 1 ? "(" + shape[0] + ",)" : "(" + (dims.length() > 0 ? dims.substring(0, dims.length() - 2) : "") + ")";
        String dict = "{'descr': '" + dtype + "', 'fortran_order': False, 'shape': " + shapeText + ", }";
        int unpadded = MAGIC.length + 2 + 2 + dict.length() + 1;
        int total = (unpadded + ALIGN - 1) / ALIGN * ALIGN;
        int headerLen = total - MAGIC.length - 4;
        if (headerLen > 0xFFFF) throw new IllegalArgumentException("npy header too long for version 1.0: shape " + Arrays.toString(shape));
        ByteBuffer b = ByteBuffer.allocate(total).order(ByteOrder.LITTLE_ENDIAN);
        b.put(MAGIC).put((byte) 1).put((byte) 0).putShort((short) headerLen);
        b.put(dict.getBytes(StandardCharsets.US_ASCII));
        while (b.position() < total - 1) b.put((byte) ' ');
        b.put((byte) '\n');
        return b.array();
    }

    /** Reads every array of an .npz (stored or deflated), keyed by entry name without {@code .npy}. */
    public static Map<String, Array> read(Path file) throws IOException {
        if (!Files.isRegularFile(file)) throw new CheckpointException(file + ": no such file");
        ZipFile zip;
        try {
            zip = new ZipFile(file.toFile());
        } catch (ZipException e) {
            throw new CheckpointException(file + ": not an .npz file (not a zip archive)");
        }
        try (zip) {
            Map<String, Array> arrays = new LinkedHashMap<>();
            for (Enumeration<? extends ZipEntry> en = zip.entries(); en.hasMoreElements(); ) {
                ZipEntry entry = en.nextElement();
                if (entry.isDirectory()) continue;
                String name = entry.getName();
                if (!name.endsWith(".npy")) throw new CheckpointException(file + ": not an .npz file (entry '" + name + "' is not .npy)");
                String key = name.substring(0, name.length() - 4);
                try (InputStream in = zip.getInputStream(entry)) {
                    arrays.put(key, readNpy(in, file + ":" + name));
                }
            }
            return arrays;
        }
    }

    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

    /** The header of an .npy stream: dtype and shape; the stream is left at the first data byte. */
    public record Header(String dtype, long[] shape) {
        public long count() {
            return Npz.count(shape);
        }

        public int itemSize() {
            return Npz.itemSize(dtype);
        }
    }

    /** Reads an .npy header (versions 1-3, C order, a supported dtype) from a stream, e.g. an .npz entry being streamed. */
    public static Header readHeader(InputStream in, String where) throws IOException {
        byte[] pre = in.readNBytes(8);
        if (pre.length < 8 || !Arrays.equals(Arrays.copyOf(pre, 6), MAGIC)) throw new CheckpointException(where + ": not an .npy array (bad magic)");
        int major = pre[6];
        long headerLen;
        if (major == 1) {
            byte[] len = in.readNBytes(2);
            if (len.length < 2) throw new CheckpointException(where + ": truncated .npy header");
            headerLen = (len[0] & 0xFF) | (len[1] & 0xFF) << 8;
        } else if (major == 2 || major == 3) {
            byte[] len = in.readNBytes(4);
            if (len.length < 4) throw new CheckpointException(where + ": truncated .npy header");
            headerLen = ByteBuffer.wrap(len).order(ByteOrder.LITTLE_ENDIAN).getInt() & 0xFFFFFFFFL;
        } else {
            throw new CheckpointException(where + ": unsupported .npy version " + major + "." + pre[7]);
        }
        if (headerLen > 1 << 20) throw new CheckpointException(where + ": .npy header of " + headerLen + " bytes is implausible");
        byte[] headerBytes = in.readNBytes((int) headerLen);
        if (headerBytes.length < headerLen) throw new CheckpointException(where + ": truncated .npy header");
        String header = new String(headerBytes, major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);

        Matcher d = DESCR.matcher(header), f = FORTRAN.matcher(header), s = SHAPE.matcher(header);
        if (!d.find() || !f.find() || !s.find()) throw new CheckpointException(where + ": .npy header lacks descr, fortran_order or shape: " + header.trim());
        String dtype = d.group(1);
        // numpy writes '|u1', but byte order is meaningless for 1-byte types, so '<u1' and '>u1' are the same.
        if (dtype.equals("<u1") || dtype.equals(">u1")) dtype = UINT8;
        if (itemSize(dtype) < 0) throw new CheckpointException(where + ": unsupported dtype '" + dtype + "' (expected |u1, <i8, <f4 or <f8)");
        if (f.group(1).equals("True")) throw new CheckpointException(where + ": Fortran-order arrays are not supported");
        long[] shape;
        try {
            shape = Arrays.stream(s.group(1).split(",")).map(String::trim).filter(t -> !t.isEmpty()).mapToLong(Long::parseLong).toArray();
        } catch (NumberFormatException e) {
            throw new CheckpointException(where + ": bad shape (" + s.group(1) + ")");
        }
        return new Header(dtype, shape);
    }

    private static Array readNpy(InputStream in, String where) throws IOException {
        Header h = readHeader(in, where);
        String dtype = h.dtype();
        long[] shape = h.shape();
        long bytes = count(shape) * itemSize(dtype);
        if (bytes > Integer.MAX_VALUE - 8) throw new CheckpointException(where + ": array of " + bytes + " bytes is too large (limit 2 GiB)");
        byte[] data = in.readNBytes((int) bytes);
        if (data.length < bytes) throw new CheckpointException(where + ": truncated data (" + data.length + " of " + bytes + " bytes)");
        return new Array(dtype, shape, data);
    }
}
