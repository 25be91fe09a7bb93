package dit4j.io;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;

/**
 * A model checkpoint of any supported kind: a {@code .pt} state dict, a {@code .pt} training
 * checkpoint ({@code model}, {@code ema}, {@code opt}, {@code args}, ...) or a {@code .safetensors}
 * state dict.
 *
 * @param path the file
 * @param top every top-level entry of a training checkpoint (empty for a bare state dict)
 * @param weights the model weights to use: {@code ema} when present (unless raw weights were asked for)
 * @param weightsKey where {@code weights} came from: "ema", "model" or "" for a bare state dict
 * @param metadata safetensors metadata (empty for .pt)
 */
public record CheckpointFile(Path path, Map<String, Object> top, Map<String, Tensor> weights, String weightsKey, Map<String, String> metadata) {

    public static CheckpointFile read(Path path, boolean preferEma) throws IOException {
        if (!Files.isRegularFile(path)) throw new CheckpointException(path + ": no such checkpoint file");
        if (isZip(path)) return fromPt(path, PtReader.load(path), preferEma);
        return fromSafetensors(path, Safetensors.read(path));
    }

    private static boolean isZip(Path path) throws IOException {
        return PtReader.format(path) != PtReader.Format.OTHER; // zip or legacy torch.save; else safetensors
    }

    private static CheckpointFile fromSafetensors(Path path, Safetensors.Contents c) throws CheckpointException {
        if (c.tensors().isEmpty()) throw new CheckpointException(path + ": holds no tensors");
        return new CheckpointFile(path, Map.of(), StateDicts.stripWrapperPrefixes(c.tensors()), "", c.metadata());
    }

    @SuppressWarnings("unchecked")
    private static CheckpointFile fromPt(Path path, Object graph, boolean preferEma) throws CheckpointException {
        if (!(graph instanceof Map<?, ?> map)) throw new CheckpointException(path + ": not a checkpoint (its top level is a " + typeName(graph) + ", expected a dict)");
        Map<String, Object> top = new LinkedHashMap<>();
        map.forEach((k, v) -> top.put(String.valueOf(k), v));
        for (String key : preferEma ? new String[] {"ema", "model", "state_dict"} : new String[] {"model", "state_dict", "ema"}) {
            if (top.get(key) instanceof Map<?, ?> section) {
                return new CheckpointFile(path, top, tensors(path, key, section), key, Map.of());
            }
        }
        return new CheckpointFile(path, Map.of(), tensors(path, "", map), "", Map.of());
    }

    /** A section of a training checkpoint as a state dict, e.g. "model" or "ema". */
    public Map<String, Tensor> section(String key) throws CheckpointException {
        Object v = top.get(key);
        if (!(v instanceof Map<?, ?> m)) throw new CheckpointException(path + ": has no '" + key + "' state dict");
        return tensors(path, key, m);
    }

    /** The {@code args} of a training checkpoint as a map (an argparse.Namespace or a dict), or empty. */
    @SuppressWarnings("unchecked")
    public Map<String, Object> args() {
        Object a = top.get("args");
        if (a instanceof Map<?, ?> m) {
            Map<String, Object> out = new LinkedHashMap<>();
            m.forEach((k, v) -> out.put(String.valueOf(k), v));
            return out;
        }
        return Map.of();
    }

    private static Map<String, Tensor> tensors(Path path, String section, Map<?, ?> m) throws CheckpointException {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : m.entrySet()) {
            if (!(e.getValue() instanceof Tensor t)) {
                String where = section.isEmpty() ? "" : " in '" + section + "'";
                throw new CheckpointException(path + ": entry '" + e.getKey() + "'" + where + " is a " + typeName(e.getValue()) + ", not a tensor: not a state dict");
            }
            out.put(String.valueOf(e.getKey()), t);
        }
        if (out.isEmpty()) throw new CheckpointException(path + ": holds no tensors");
        return StateDicts.stripWrapperPrefixes(out);
    }

    private static String typeName(Object o) {
        return o == null ? "None" : o.getClass().getSimpleName();
    }
}
