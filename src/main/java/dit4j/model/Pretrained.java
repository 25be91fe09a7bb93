package dit4j.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dit4j.io.CheckpointException;
import dit4j.io.CheckpointFile;
import dit4j.runtime.Tensors;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;

/**
 * A DiT restored from a checkpoint file of any supported kind.
 *
 * <p>The configuration comes from, in order: the caller; the configuration our own checkpoints
 * record ({@code args.dit_config}, or safetensors metadata {@code dit_config}/{@code model}); the
 * official {@code train.py} arguments ({@code model}, {@code image_size}, {@code num_classes});
 * the shapes of the weights.
 */
public record Pretrained(DiT model, DiTConfig config, CheckpointFile file) {

    private static final ObjectMapper JSON = new ObjectMapper();

    public static Pretrained load(Path path, DiTConfig config, boolean preferEma, int numHeads) throws IOException {
        CheckpointFile file = CheckpointFile.read(path, preferEma);
        DiTConfig c = config != null ? config : configOf(file, numHeads);
        // adaLN's weights have adaLN-Zero's names and shapes: only the record tells the two apart
        if (config != null && recordedConfig(file) != null) {
            Arch.Block theirs = configOf(file, numHeads).block();
            if (theirs != c.block()) {
                throw new CheckpointException(path + ": the checkpoint records " + theirs.id() + " blocks, but the model has " + c.block().id() + " blocks");
            }
        }
        DiT model = new DiT(c);
        model.adopt(file.weights(), path.toString());
        model.eval();
        return new Pretrained(model, c, file);
    }

    /** The configuration a checkpoint describes or implies. */
    public static DiTConfig configOf(CheckpointFile file, int numHeads) throws CheckpointException {
        try {
            JsonNode recorded = recordedConfig(file);
            if (recorded != null) return DiTConfig.fromJson(recorded);
            Map<String, long[]> shapes = new LinkedHashMap<>();
            for (Map.Entry<String, Tensor> e : file.weights().entrySet()) shapes.put(e.getKey(), Tensors.shape(e.getValue()));
            DiTConfig inferred = ConfigInference.infer(shapes, numHeads);
            Map<String, Object> args = file.args();
            if (numHeads <= 0 && args.get("model") instanceof String name && name.startsWith("DiT-")) {
                DiTConfig official = DiTConfig.named(name, inferred.inputSize(), inferred.inChannels(), inferred.numClasses(), inferred.learnSigma(), inferred.classDropoutProb());
                if (official.hiddenSize() == inferred.hiddenSize()) return official;
            }
            return inferred;
        } catch (IllegalArgumentException e) {
            throw new CheckpointException(file.path() + ": " + e.getMessage());
        }
    }

    private static JsonNode recordedConfig(CheckpointFile file) {
        Object ours = file.args().get("dit_config");
        if (ours instanceof Map<?, ?> m) return JSON.valueToTree(m);
        for (String key : new String[] {"dit_config", "model"}) {
            String meta = file.metadata().get(key);
            if (meta != null) {
                try {
                    JsonNode n = JSON.readTree(meta);
                    if (n.isObject() && n.has("hidden_size")) return n;
                } catch (IOException ignored) {
                    // not ours: fall back to inference
                }
            }
        }
        return null;
    }
}
