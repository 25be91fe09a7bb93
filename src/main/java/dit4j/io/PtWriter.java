package dit4j.io;

import dit4j.runtime.Tensors;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.pytorch.Tensor;

/**
 * Writes {@code torch.save}-compatible files that {@code torch.load(..., weights_only=True)} accepts:
 * a zip archive with {@code archive/data.pkl} (pickle protocol 2, tensors rebuilt by
 * {@code torch._utils._rebuild_tensor_v2} from persistent storages), {@code archive/byteorder},
 * {@code archive/data/N} (raw storage bytes, 64-byte aligned, stored uncompressed) and
 * {@code archive/version}.
 *
 * <p>Values: {@link Map} (written as {@code OrderedDict} when {@link #ordered} wraps it, else as a
 * dict), {@link List}, {@code Object[]} (tuple), {@link Tensor}, {@link String}, integral
 * {@link Number}s, {@link Double}/{@link Float}, {@link Boolean}, null.
 */
public final class PtWriter {
    private PtWriter() {}

    /** Marks a map to be pickled as {@code collections.OrderedDict} (as state dicts are). */
    public record Ordered(Map<String, ?> map) {}

    public static Ordered ordered(Map<String, ?> map) {
        return new Ordered(map);
    }

    private static final String ARCHIVE = "archive/";

    public static void save(Path file, Object value) throws IOException {
        Pickler p = new Pickler();
        p.write(value);
        byte[] pickle = p.finish();
        AtomicFiles.write(file, out -> writeZip(out, pickle, p.storages));
    }

    private static void writeZip(OutputStream raw, byte[] pickle, List<Tensor> storages) throws IOException {
        CountingStream counting = new CountingStream(raw);
        ZipOutputStream zip = new ZipOutputStream(counting);
        zip.setMethod(ZipOutputStream.STORED);
        putStored(zip, counting, ARCHIVE + "data.pkl", pickle);
        putStored(zip, counting, ARCHIVE + "byteorder", "little".getBytes(StandardCharsets.US_ASCII));
        for (int i = 0; i < storages.size(); i++) {
            Tensor t = storages.get(i);
            putStoredTensor(zip, counting, ARCHIVE + "data/" + i, t);
        }
        putStored(zip, counting, ARCHIVE + "version", "3\n".getBytes(StandardCharsets.US_ASCII));
        zip.finish();
        zip.flush();
    }

    private static void putStored(ZipOutputStream zip, CountingStream counting, String name, byte[] data) throws IOException {
        CRC32 crc = new CRC32();
        crc.update(data);
        zip.putNextEntry(entry(counting, name, data.length, crc.getValue()));
        zip.write(data);
        zip.closeEntry();
    }

    private static void putStoredTensor(ZipOutputStream zip, CountingStream counting, String name, Tensor t) throws IOException {
        long n = t.nbytes();
        BytePointer p = new BytePointer(t.data_ptr()).capacity(n);
        CRC32 crc = new CRC32();
        if (n > 0) crc.update(p.asByteBuffer());
        zip.putNextEntry(entry(counting, name, n, crc.getValue()));
        Safetensors.writeBytes(zip, t);
        zip.closeEntry();
    }

    /** A stored entry whose data starts on a 64-byte boundary, padded through the extra field as PyTorch does. */
    private static ZipEntry entry(CountingStream counting, String name, long size, long crc) {
        ZipEntry e = new ZipEntry(name);
        e.setMethod(ZipEntry.STORED);
        e.setSize(size);
        e.setCompressedSize(size);
        e.setCrc(crc);
        long headerEnd = counting.count + 30 + name.getBytes(StandardCharsets.UTF_8).length;
        int pad = (int) ((64 - (headerEnd + 4) % 64) % 64);
        byte[] extra = new byte[4 + pad];
        ByteBuffer.wrap(extra).order(ByteOrder.LITTLE_ENDIAN).putShort((short) 0x4246).putShort((short) pad); // "FB", as torch writes
        e.setExtra(extra);
        return e;
    }

    private static final class CountingStream extends OutputStream {
        final OutputStream out;
        long count;

        CountingStream(OutputStream out) {
            this.out = out;
        }

        @Override
        public void write(int b) throws IOException {
            out.write(b);
            count++;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            count += len;
        }

        @Override
        public void flush() throws IOException {
            out.flush();
        }
    }

    /** Pickle protocol 2, the opcodes torch's weights-only unpickler accepts. */
    private static final class Pickler {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        final List<Tensor> storages = new ArrayList<>();

        void write(Object v) {
            out.write(0x80); // PROTO
            out.write(2);
            value(v);
        }

        byte[] finish() {
            out.write('.'); // STOP
            return out.toByteArray();
        }

        void value(Object v) {
            if (v == null) out.write('N');
            else if (v instanceof Boolean b) out.write(b ? 0x88 : 0x89);
            else if (v instanceof String s) string(s);
            else if (v instanceof Double || v instanceof Float) floatValue(((Number) v).doubleValue());
            else if (v instanceof Number n) integer(n.longValue());
            else if (v instanceof Tensor t) tensor(t);
            else if (v instanceof Ordered o) orderedDict(o.map());
            else if (v instanceof Map<?, ?> m) dict(m);
            else if (v instanceof List<?> l) list(l);
            else if (v instanceof Object[] a) tuple(a);
            else if (v instanceof long[] a) {
                Object[] boxed = new Object[a.length];
                for (int i = 0; i < a.length; i++) boxed[i] = a[i];
                tuple(boxed);
            } else throw new IllegalArgumentException("cannot pickle a " + v.getClass().getName());
        }

        void string(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            out.write('X'); // BINUNICODE
            le32(b.length);
            out.writeBytes(b);
        }

        void integer(long v) {
            if (v >= 0 && v < 256) {
                out.write('K'); // BININT1
                out.write((int) v);
            } else if (v >= Integer.MIN_VALUE && v <= Integer.MAX_VALUE) {
                out.write('J'); // BININT
                le32((int) v);
            } else {
                out.write(0x8a); // LONG1
                out.write(8);
                for (int i = 0; i < 8; i++) out.write((int) (v >>> (8 * i)));
            }
        }

        void floatValue(double d) {
            out.write('G'); // BINFLOAT, big-endian
            long bits = Double.doubleToLongBits(d);
            for (int i = 7; i >= 0; i--) out.write((int) (bits >>> (8 * i)));
        }

        void global(String module, String name) {
            out.write('c');
            out.writeBytes((module + "\n" + name + "\n").getBytes(StandardCharsets.US_ASCII));
        }

        void orderedDict(Map<String, ?> map) {
            global("collections", "OrderedDict");
            out.write(')'); // EMPTY_TUPLE
            out.write('R'); // REDUCE
            items(map);
        }

        void dict(Map<?, ?> map) {
            out.write('}'); // EMPTY_DICT
            items(map);
        }

        void items(Map<?, ?> map) {
            if (map.isEmpty()) return;
            out.write('('); // MARK
            for (Map.Entry<?, ?> e : map.entrySet()) {
                value(e.getKey());
                value(e.getValue());
            }
            out.write('u'); // SETITEMS
        }

        void list(List<?> list) {
            out.write(']'); // EMPTY_LIST
            if (list.isEmpty()) return;
            out.write('(');
            for (Object v : list) value(v);
            out.write('e'); // APPENDS
        }

        void tuple(Object[] a) {
            out.write('(');
            for (Object v : a) value(v);
            out.write('t'); // TUPLE
        }

        void tensor(Tensor t) {
            Tensor c = Tensors.cpu(t).detach().contiguous();
            int key = storages.size();
            storages.add(c);
            long[] size = Tensors.shape(c);
            long[] stride = new long[size.length];
            long s = 1;
            for (int i = size.length - 1; i >= 0; i--) {
                stride[i] = s;
                s *= size[i];
            }
            global("torch._utils", "_rebuild_tensor_v2");
            out.write('(');
            // persistent id: ('storage', storage class, key, location, numel)
            out.write('(');
            string("storage");
            global("torch", DTypes.toStorageClass(Tensors.dtype(c)));
            string(Integer.toString(key));
            string("cpu");
            integer(c.numel());
            out.write('t');
            out.write('Q'); // BINPERSID
            integer(0);
            value(size);
            value(stride);
            out.write(0x89); // requires_grad False
            global("collections", "OrderedDict");
            out.write(')');
            out.write('R');
            out.write('t');
            out.write('R');
        }

        void le32(int v) {
            for (int i = 0; i < 4; i++) out.write(v >>> (8 * i));
        }
    }
}
