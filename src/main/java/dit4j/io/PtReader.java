package dit4j.io;

import dit4j.runtime.Tensors;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ReadableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;
import net.razorvine.pickle.IObjectConstructor;
import net.razorvine.pickle.Opcodes;
import net.razorvine.pickle.PickleException;
import net.razorvine.pickle.Unpickler;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Reads files written by {@code torch.save} (the zip format of PyTorch 1.6 and later, and the
 * legacy format before it) without a
 * Python runtime and without executing anything from the file: tensors are rebuilt from their
 * storages, {@code OrderedDict}s become insertion-ordered maps, and any other class (an
 * {@code argparse.Namespace}, say) becomes a plain map of its attributes.
 *
 * <p>Values: {@link Map} (ordered), {@link List}, {@code Object[]} (tuples), {@link Tensor},
 * {@link String}, {@link Integer}/{@link Long}/{@link java.math.BigInteger}, {@link Double},
 * {@link Boolean}, null.
 */
public final class PtReader {
    private PtReader() {}

    /** The storage a tensor points into: dtype, zip entry key, element count. */
    record StorageRef(ScalarType dtype, String key, long numel) {}

    /** A tensor awaiting its storage. */
    record TensorRef(StorageRef storage, long offset, long[] size, long[] stride) {}

    /** The class object a GLOBAL opcode names, for storage types. */
    record StorageClass(ScalarType dtype) implements IObjectConstructor {
        @Override
        public Object construct(Object[] args) {
            throw new PickleException("storage classes are not constructed directly");
        }
    }

    static {
        IObjectConstructor rebuildTensor = args -> new TensorRef(
                (StorageRef) args[0], toLong(args[1]), longs(args[2]), longs(args[3]));
        Unpickler.registerConstructor("torch._utils", "_rebuild_tensor_v2", rebuildTensor);
        Unpickler.registerConstructor("torch._utils", "_rebuild_tensor", rebuildTensor);
        Unpickler.registerConstructor("torch._utils", "_rebuild_parameter", args -> args[0]);
        Unpickler.registerConstructor("torch.nn.parameter", "Parameter", args -> args[0]);
        Unpickler.registerConstructor("collections", "OrderedDict", args -> new LinkedHashMap<>());
        for (String name : new String[] {"FloatStorage", "DoubleStorage", "HalfStorage", "BFloat16Storage", "LongStorage",
                "IntStorage", "ShortStorage", "CharStorage", "ByteStorage", "BoolStorage"}) {
            Unpickler.registerConstructor("torch", name, new StorageClass(DTypes.fromStorageClass(name)));
        }
    }

    /** The container a {@code torch.save} file uses, from its first bytes. */
    public enum Format { ZIP, LEGACY, OTHER }

    // torch.serialization's MAGIC_NUMBER 0x1950a86a20f9469cfc6c as the protocol-2 pickle of a long:
    // PROTO 2, LONG1 of 10 bytes, little-endian.
    private static final byte[] LEGACY_HEADER = {(byte) 0x80, 2, (byte) 0x8a, 10,
        0x6c, (byte) 0xfc, (byte) 0x9c, 0x46, (byte) 0xf9, 0x20, 0x6a, (byte) 0xa8, 0x50, 0x19};
    private static final long LEGACY_PROTOCOL = 1001;

    public static Format format(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            byte[] m = in.readNBytes(LEGACY_HEADER.length);
            if (m.length >= 4 && m[0] == 'P' && m[1] == 'K' && m[2] == 3 && m[3] == 4) return Format.ZIP;
            if (java.util.Arrays.equals(m, LEGACY_HEADER)) return Format.LEGACY;
            return Format.OTHER;
        }
    }

    /** Loads the whole object graph of a {@code .pt} file (zip or legacy format), tensors on the CPU. */
    public static Object load(Path file) throws IOException {
        if (!Files.isRegularFile(file)) throw new CheckpointException(file + ": no such file");
        Format f = format(file);
        if (f == Format.LEGACY) return loadLegacy(file);
        if (f != Format.ZIP) throw new CheckpointException(file + ": not a PyTorch checkpoint (neither the zip nor the legacy torch.save format)");
        try (ZipFile zip = new ZipFile(file.toFile())) {
            String prefix = findPrefix(zip, file);
            ZipEntry pkl = zip.getEntry(prefix + "data.pkl");
            ZipEntry order = zip.getEntry(prefix + "byteorder");
            if (order != null) {
                String bo = new String(zip.getInputStream(order).readAllBytes()).trim();
                if (!bo.equals("little")) throw new CheckpointException(file + ": byte order '" + bo + "' is not supported (expected little)");
            }
            Object graph;
            try (InputStream in = zip.getInputStream(pkl)) {
                graph = new TorchUnpickler().load(in);
            } catch (PickleException | ClassCastException | ArrayIndexOutOfBoundsException e) {
                throw new CheckpointException(file + ": cannot read its pickle: " + e.getMessage());
            }
            return materialize(graph, new Storages(zip, prefix, file));
        } catch (ZipException e) {
            throw new CheckpointException(file + ": truncated or not a PyTorch checkpoint (" + e.getMessage() + ")");
        }
    }

    /**
     * The legacy format of {@code torch.save(..., _use_new_zipfile_serialization=False)} (and of
     * PyTorch before 1.6): pickles of the magic number, the protocol version (1001), system info
     * and the object, then a pickled list of storage keys, then each storage as an 8-byte
     * little-endian element count followed by its raw bytes, in that order.
     */
    private static Object loadLegacy(Path file) throws IOException {
        try (java.io.DataInputStream in = new java.io.DataInputStream(new java.io.BufferedInputStream(Files.newInputStream(file), 1 << 16))) {
            Object graph;
            List<?> keys;
            Map<String, StorageRef> refs = new HashMap<>();
            try {
                new Unpickler().load(in); // the magic number, checked by format()
                Object protocol = new Unpickler().load(in);
                if (!(protocol instanceof Number n) || n.longValue() != LEGACY_PROTOCOL) {
                    throw new CheckpointException(file + ": legacy torch.save protocol " + protocol + " is not supported (expected " + LEGACY_PROTOCOL + ")");
                }
                Object sysInfo = new Unpickler().load(in);
                if (sysInfo instanceof Map<?, ?> info && Boolean.FALSE.equals(info.get("little_endian"))) {
                    throw new CheckpointException(file + ": written on a big-endian machine; not supported");
                }
                TorchUnpickler u = new TorchUnpickler();
                graph = u.load(in);
                for (StorageRef r : u.seen) refs.merge(r.key(), r, (a, b) -> a.numel() >= b.numel() ? a : b);
                if (!(new Unpickler().load(in) instanceof List<?> k)) throw new CheckpointException(file + ": truncated or corrupt: no storage key list");
                keys = k;
            } catch (PickleException | ClassCastException | ArrayIndexOutOfBoundsException e) {
                throw new CheckpointException(file + ": cannot read its pickle: " + e.getMessage());
            } catch (java.io.EOFException e) {
                throw new CheckpointException(file + ": truncated (ends inside a pickle)");
            }
            Map<String, Tensor> loaded = new HashMap<>();
            byte[] buf = new byte[1 << 20];
            for (Object k : keys) {
                String key = String.valueOf(k);
                StorageRef ref = refs.get(key);
                if (ref == null) throw new CheckpointException(file + ": storage '" + key + "' is listed but no tensor uses it");
                byte[] count = new byte[8];
                try {
                    in.readFully(count);
                    long numel = ByteBuffer.wrap(count).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
                    if (numel != ref.numel()) throw new CheckpointException(file + ": storage '" + key + "' holds " + numel + " elements, its tensors expect " + ref.numel());
                    Tensor t = Tensors.empty(ref.dtype(), numel);
                    long bytes = numel * DTypes.elementSize(ref.dtype());
                    BytePointer dst = new BytePointer(t.data_ptr()).capacity(bytes);
                    for (long done = 0; done < bytes; ) {
                        int n = (int) Math.min(buf.length, bytes - done);
                        in.readFully(buf, 0, n);
                        dst.position(done).put(buf, 0, n);
                        done += n;
                    }
                    loaded.put(key, t);
                } catch (java.io.EOFException e) {
                    throw new CheckpointException(file + ": truncated: storage '" + key + "' ends early");
                }
            }
            return materialize(graph, new StorageSource() {
                @Override
                public Tensor get(StorageRef ref) throws CheckpointException {
                    Tensor t = loaded.get(ref.key());
                    if (t == null) throw new CheckpointException(file + ": truncated: storage '" + ref.key() + "' is missing");
                    return t;
                }

                @Override
                public Path file() {
                    return file;
                }
            });
        }
    }

    private static String findPrefix(ZipFile zip, Path file) throws CheckpointException {
        for (Enumeration<? extends ZipEntry> en = zip.entries(); en.hasMoreElements(); ) {
            String name = en.nextElement().getName();
            if (name.endsWith("data.pkl") && name.indexOf('/') == name.length() - "data.pkl".length() - 1) {
                return name.substring(0, name.length() - "data.pkl".length());
            }
        }
        throw new CheckpointException(file + ": not a PyTorch checkpoint (no data.pkl in the archive)");
    }

    /** Where tensors find their storages. */
    private interface StorageSource {
        Tensor get(StorageRef ref) throws IOException;

        Path file();
    }

    /** Loads storages on first use and shares them between the tensors that view them. */
    private static final class Storages implements StorageSource {
        final ZipFile zip;
        final String prefix;
        final Path file;
        final Map<String, Tensor> loaded = new HashMap<>();

        Storages(ZipFile zip, String prefix, Path file) {
            this.zip = zip;
            this.prefix = prefix;
            this.file = file;
        }

        @Override
        public Path file() {
            return file;
        }

        @Override
        public Tensor get(StorageRef ref) throws IOException {
            Tensor t = loaded.get(ref.key());
            if (t != null) return t;
            ZipEntry entry = zip.getEntry(prefix + "data/" + ref.key());
            if (entry == null) throw new CheckpointException(file + ": truncated: storage data/" + ref.key() + " is missing");
            long bytes = ref.numel() * DTypes.elementSize(ref.dtype());
            if (ref.numel() < 0 || bytes < 0 || bytes / DTypes.elementSize(ref.dtype()) != ref.numel()) {
                throw new CheckpointException(file + ": storage data/" + ref.key() + " claims " + ref.numel() + " elements");
            }
            if (entry.getSize() >= 0 && entry.getSize() < bytes) {
                throw new CheckpointException(file + ": storage data/" + ref.key() + " has " + entry.getSize() + " bytes, expected " + bytes);
            }
            // torch.save stores entries uncompressed; weights deflate by a few percent at most. A
            // storage that inflates a hundredfold is a zip bomb: refused before its memory exists.
            if (entry.getMethod() == ZipEntry.DEFLATED && bytes > 100 * Math.max(0, entry.getCompressedSize()) + (1 << 20)) {
                throw new CheckpointException(file + ": storage data/" + ref.key() + " inflates from " + entry.getCompressedSize() + " to " + bytes
                        + " bytes (a zip bomb?): refused");
            }
            t = Tensors.empty(ref.dtype(), ref.numel());
            if (bytes > 0) {
                ByteBuffer dst = new BytePointer(t.data_ptr()).capacity(bytes).asByteBuffer();
                try (ReadableByteChannel in = Channels.newChannel(zip.getInputStream(entry))) {
                    while (dst.hasRemaining()) {
                        if (in.read(dst) < 0) throw new CheckpointException(file + ": truncated: storage data/" + ref.key() + " ends early");
                    }
                } catch (ZipException e) {
                    throw new CheckpointException(file + ": corrupt storage data/" + ref.key() + " (" + e.getMessage() + ")");
                }
            }
            loaded.put(ref.key(), t);
            return t;
        }
    }

    private static Object materialize(Object o, StorageSource storages) throws IOException {
        if (o instanceof TensorRef ref) {
            Tensor storage = storages.get(ref.storage());
            long extent = ref.offset();
            for (int i = 0; i < ref.size().length; i++) extent += (ref.size()[i] - 1) * ref.stride()[i];
            if (ref.size().length > 0 && numel(ref.size()) > 0 && extent >= ref.storage().numel()) {
                throw new CheckpointException(storages.file() + ": a tensor of shape " + Tensors.shapeString(ref.size()) + " reaches past its storage data/" + ref.storage().key());
            }
            return storage.as_strided(ref.size(), ref.stride(), new org.bytedeco.pytorch.LongOptional(ref.offset()));
        }
        if (o instanceof Map<?, ?> map) {
            Map<Object, Object> out = new LinkedHashMap<>();
            for (Map.Entry<?, ?> e : map.entrySet()) out.put(e.getKey(), materialize(e.getValue(), storages));
            return out;
        }
        if (o instanceof List<?> list) {
            List<Object> out = new ArrayList<>(list.size());
            for (Object v : list) out.add(materialize(v, storages));
            return out;
        }
        if (o instanceof Object[] tuple) {
            Object[] out = new Object[tuple.length];
            for (int i = 0; i < tuple.length; i++) out[i] = materialize(tuple[i], storages);
            return out;
        }
        if (o instanceof StorageClass sc) return "torch." + DTypes.toStorageClass(sc.dtype());
        return o;
    }

    private static long numel(long[] size) {
        long n = 1;
        for (long s : size) n *= s;
        return n;
    }

    static long toLong(Object o) {
        return ((Number) o).longValue();
    }

    static long[] longs(Object o) {
        Object[] t = (Object[]) o;
        long[] out = new long[t.length];
        for (int i = 0; i < t.length; i++) out[i] = toLong(t[i]);
        return out;
    }

    /** Razorvine's unpickler with insertion-ordered dicts and PyTorch's persistent storages. */
    private static final class TorchUnpickler extends Unpickler {
        final List<StorageRef> seen = new ArrayList<>();

        @Override
        protected Object persistentLoad(Object pid) {
            Object[] t = (Object[]) pid;
            if (t.length < 5 || !"storage".equals(t[0])) throw new PickleException("unsupported persistent id " + t[0]);
            ScalarType dtype;
            if (t[1] instanceof StorageClass sc) dtype = sc.dtype();
            else throw new PickleException("unsupported storage type " + t[1]);
            StorageRef ref = new StorageRef(dtype, String.valueOf(t[2]), toLong(t[4]));
            seen.add(ref);
            return ref;
        }

        @Override
        @SuppressWarnings("unchecked")
        protected Object dispatch(short key) throws PickleException, IOException {
            switch (key) {
                case Opcodes.EMPTY_DICT:
                    stack.add(new LinkedHashMap<>());
                    return NO_RETURN_VALUE;
                case Opcodes.SETITEM: {
                    Object value = stack.pop();
                    Object k = stack.pop();
                    mapOnTop().put(k, value);
                    return NO_RETURN_VALUE;
                }
                case Opcodes.SETITEMS: {
                    List<Object> items = stack.pop_all_since_marker();
                    Map<Object, Object> map = mapOnTop();
                    for (int i = 0; i + 1 < items.size(); i += 2) map.put(items.get(i), items.get(i + 1));
                    return NO_RETURN_VALUE;
                }
                case Opcodes.BUILD: {
                    // Plain objects (argparse.Namespace, ...) keep their attributes as map entries.
                    Object state = stack.pop();
                    Object target = stack.peek();
                    if (target instanceof net.razorvine.pickle.objects.ClassDict && state instanceof Map) {
                        ((Map<Object, Object>) target).putAll((Map<?, ?>) state);
                        return NO_RETURN_VALUE;
                    }
                    if (target instanceof Map) return NO_RETURN_VALUE; // an OrderedDict's attributes (_metadata): not items

                    stack.add(state);
                    return super.dispatch(key);
                }
                default:
                    return super.dispatch(key);
            }
        }

        @SuppressWarnings("unchecked")
        private Map<Object, Object> mapOnTop() {
            Object top = stack.peek();
            if (!(top instanceof Map)) throw new PickleException("SETITEMS on a " + (top == null ? "None" : top.getClass().getSimpleName()));
            return (Map<Object, Object>) top;
        }
    }
}
