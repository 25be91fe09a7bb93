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

    private static final ObjectMapper JSON = new ObjectMapper();
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
                throw new CheckpointException(file + ": not a safetensors file (header is not JSON)");
            }
            if (header == null || !header.isObject()) throw new CheckpointException(file + ": not a safetensors file (header is not a JSON object)");
            long dataStart = 8 + headerLen;
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            Map<String, String> metadata = new LinkedHashMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                String name = e.getKey();
                JsonNode info = e.getValue();
                if (name.equals("__metadata__")) {
                    info.fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
                    continue;
                }
                tensors.put(name, readTensor(ch, file, name, info, dataStart, size));
            }
            return new Contents(tensors, metadata);
        }
    }

    private static Tensor readTensor(FileChannel ch, Path file, String name, JsonNode info, long dataStart, long fileSize) throws IOException {
        ScalarType dtype = DTypes.fromSafetensors(info.path("dtype").asText());
        if (dtype == null) throw new CheckpointException(file + ": tensor '" + name + "' has unsupported dtype '" + info.path("dtype").asText() + "'");
        JsonNode shapeNode = info.path("shape"), offsets = info.path("data_offsets");
        if (!shapeNode.isArray() || !offsets.isArray() || offsets.size() != 2) {
            throw new CheckpointException(file + ": tensor '" + name + "' lacks a shape or data_offsets");
        }
        long[] shape = new long[shapeNode.size()];
        long numel = 1;
        for (int i = 0; i < shape.length; i++) {
            shape[i] = shapeNode.get(i).asLong();
            numel *= shape[i];
        }
        long begin = offsets.get(0).asLong(), end = offsets.get(1).asLong();
        long expected = numel * DTypes.elementSize(dtype);
        if (end - begin != expected) {
            throw new CheckpointException(file + ": tensor '" + name + "' has " + (end - begin) + " bytes of data, its shape " + Tensors.shapeString(shape) + " needs " + expected);
        }
        if (begin < 0 || dataStart + end > fileSize) {
            throw new CheckpointException(file + ": truncated: tensor '" + name + "' ends at byte " + (dataStart + end) + " of a " + fileSize + "-byte file");
        }
        Tensor t = Tensors.empty(dtype, shape);
        if (expected > 0) {
            ByteBuffer dst = new BytePointer(t.data_ptr()).capacity(expected).asByteBuffer();
            readFully(ch, dst, dataStart + begin, file);
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
