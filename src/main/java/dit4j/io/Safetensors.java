package dit4j.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dit4j.runtime.Tensors;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * The safetensors format: an 8-byte little-endian header length, a JSON header mapping names to
 * {@code {dtype, shape, data_offsets}} (offsets relative to the end of the header), then raw
 * little-endian data. Reads straight into tensor memory.
 */
public final class Safetensors {
    private Safetensors() {}

    // A duplicate key is an error, as in the reference library, not "last one wins".
    private static final ObjectMapper JSON = new ObjectMapper().enable(com.fasterxml.jackson.core.JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
    private static final long MAX_HEADER = 100L << 20;

    /** Tensors in file order, and the string metadata. */
    public record Contents(Map<String, Tensor> tensors, Map<String, String> metadata) {}

    public static Contents read(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8) throw new CheckpointException(file + ": not a safetensors file (only " + size + " bytes)");
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lenBuf, 0, file);
            long headerLen = lenBuf.getLong(0);
            if (headerLen <= 0 || headerLen > MAX_HEADER || 8 + headerLen > size) {
                throw new CheckpointException(file + ": not a safetensors file (header length " + headerLen + " does not fit a file of " + size + " bytes)");
            }
            ByteBuffer headerBuf = ByteBuffer.allocate((int) headerLen);
            readFully(ch, headerBuf, 8, file);
            JsonNode header;
            try {
                header = JSON.readTree(new String(headerBuf.array(), StandardCharsets.UTF_8));
            } catch (IOException e) {
                String why = e.getMessage() == null ? "" : e.getMessage().lines().findFirst().orElse("");
                throw new CheckpointException(file + ": bad safetensors header: " + (why.startsWith("Duplicate field") ? why.replace("Duplicate field", "duplicate tensor name") : "not JSON (" + why + ")"));
            }
            if (header == null || !header.isObject()) throw new CheckpointException(file + ": not a safetensors file (header is not a JSON object)");
            long dataStart = 8 + headerLen;
            Map<String, String> metadata = new LinkedHashMap<>();
            java.util.List<Entry> entries = new java.util.ArrayList<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                String name = e.getKey();
                JsonNode info = e.getValue();
                if (name.equals("__metadata__")) {
                    if (!info.isObject()) throw new CheckpointException(file + ": __metadata__ is not a JSON object");
                    info.fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
                    continue;
                }
                entries.add(entry(file, name, info));
            }
            checkLayout(file, entries, size - dataStart);
            // Everything is checked before the first allocation.
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            for (Entry e : entries) tensors.put(e.name, readTensor(ch, file, e, dataStart));
            return new Contents(tensors, metadata);
        }
    }

    /** One tensor's header entry, validated. */
    private record Entry(String name, ScalarType dtype, long[] shape, long begin, long end) {}

    private static Entry entry(Path file, String name, JsonNode info) throws CheckpointException {
        if (!info.isObject()) throw new CheckpointException(file + ": tensor '" + name + "' has no {dtype, shape, data_offsets} entry");
        ScalarType dtype = DTypes.fromSafetensors(info.path("dtype").asText());
        if (dtype == null) throw new CheckpointException(file + ": tensor '" + name + "' has unsupported dtype '" + info.path("dtype").asText() + "'");
        JsonNode shapeNode = info.path("shape"), offsets = info.path("data_offsets");
        if (!shapeNode.isArray() || !offsets.isArray() || offsets.size() != 2) {
            throw new CheckpointException(file + ": tensor '" + name + "' lacks a shape or data_offsets");
        }
        long[] shape = new long[shapeNode.size()];
        long numel = 1;
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = shapeNode.get(i);
            if (!d.isIntegralNumber() || !d.canConvertToLong() || d.asLong() < 0) {
                throw new CheckpointException(file + ": tensor '" + name + "' has shape entry " + d + " (expected a non-negative integer)");
            }
            shape[i] = d.asLong();
            numel = multiply(numel, shape[i], file, name);
        }
        for (JsonNode o : offsets) {
            if (!o.isIntegralNumber() || !o.canConvertToLong() || o.asLong() < 0) {
                throw new CheckpointException(file + ": tensor '" + name + "' has data offset " + o + " (expected a non-negative integer)");
            }
        }
        long begin = offsets.get(0).asLong(), end = offsets.get(1).asLong();
        long expected = multiply(numel, DTypes.elementSize(dtype), file, name);
        if (end < begin || end - begin != expected) {
            throw new CheckpointException(file + ": tensor '" + name + "' has " + (end - begin) + " bytes of data, its shape " + Tensors.shapeString(shape) + " needs " + expected);
        }
        return new Entry(name, dtype, shape, begin, end);
    }

    private static long multiply(long a, long b, Path file, String name) throws CheckpointException {
        try {
            return Math.multiplyExact(a, b);
        } catch (ArithmeticException e) {
            throw new CheckpointException(file + ": tensor '" + name + "' is too large (its size overflows 64 bits)");
        }
    }

    /**
     * As the reference library validates: the tensors tile the data section exactly, in offset
     * order, without overlap or gaps, and the data section is exactly that long.
     */
    private static void checkLayout(Path file, java.util.List<Entry> entries, long dataBytes) throws CheckpointException {
        java.util.List<Entry> byOffset = new java.util.ArrayList<>(entries);
        byOffset.sort(java.util.Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end));
        long at = 0;
        for (Entry e : byOffset) {
            if (e.begin != at) {
                throw new CheckpointException(file + ": tensor '" + e.name + "' starts at data byte " + e.begin + ", expected " + at
                        + (e.begin < at ? " (it overlaps the tensor before it)" : " (a gap before it)"));
            }
            at = e.end;
        }
        if (at != dataBytes) {
            throw new CheckpointException(file + ": the header describes " + at + " bytes of tensor data, the file holds " + dataBytes
                    + (at > dataBytes ? " (truncated)" : " (trailing bytes)"));
        }
    }

    private static Tensor readTensor(FileChannel ch, Path file, Entry e, long dataStart) throws IOException {
        Tensor t = Tensors.empty(e.dtype, e.shape);
        long n = e.end - e.begin;
        if (n > 0) {
            ByteBuffer dst = new BytePointer(t.data_ptr()).capacity(n).asByteBuffer();
            readFully(ch, dst, dataStart + e.begin, file);
        }
        return t;
    }

    private static void readFully(FileChannel ch, ByteBuffer dst, long position, Path file) throws IOException {
        long pos = position;
        while (dst.hasRemaining()) {
            int n = ch.read(dst, pos);
            if (n < 0) throw new CheckpointException(file + ": truncated at byte " + pos);
            pos += n;
        }
    }

    /** Writes atomically; tensors keep the map's order. */
    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        ObjectNode header = JSON.createObjectNode();
        if (metadata != null && !metadata.isEmpty()) {
            ObjectNode meta = header.putObject("__metadata__");
            metadata.forEach(meta::put);
        }
        long offset = 0;
        Map<String, Tensor> contiguous = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            Tensor t = Tensors.cpu(e.getValue()).contiguous();
            contiguous.put(e.getKey(), t);
            ObjectNode info = header.putObject(e.getKey());
            info.put("dtype", DTypes.toSafetensors(Tensors.dtype(t)));
            ArrayNode shape = info.putArray("shape");
            for (long s : Tensors.shape(t)) shape.add(s);
            ArrayNode off = info.putArray("data_offsets");
            off.add(offset);
            offset += t.nbytes();
            off.add(offset);
        }
        byte[] json = JSON.writeValueAsBytes(header);
        int padded = (json.length + 7) / 8 * 8;
        byte[] headerBytes = new byte[padded];
        java.util.Arrays.fill(headerBytes, (byte) ' ');
        System.arraycopy(json, 0, headerBytes, 0, json.length);
        AtomicFiles.write(file, out -> {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, padded);
            out.write(len.array());
            out.write(headerBytes);
            for (Tensor t : contiguous.values()) writeBytes(out, t);
        });
    }

    /** Streams a contiguous CPU tensor's bytes in chunks. */
    static void writeBytes(OutputStream out, Tensor t) throws IOException {
        long n = t.nbytes();
        BytePointer p = new BytePointer(t.data_ptr()).capacity(n);
        byte[] chunk = new byte[(int) Math.min(n, 1 << 20)];
        for (long pos = 0; pos < n; pos += chunk.length) {
            int len = (int) Math.min(chunk.length, n - pos);
            p.position(pos).get(chunk, 0, len);
            out.write(chunk, 0, len);
        }
    }
}
