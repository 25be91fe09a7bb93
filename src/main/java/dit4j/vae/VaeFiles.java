package dit4j.vae;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dit4j.io.CheckpointException;
import dit4j.io.CheckpointFile;
import dit4j.io.StateDicts;
import dit4j.runtime.Tensors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;

/**
 * Loads an {@link AutoencoderKL} from a hub-style folder ({@code config.json} and
 * {@code diffusion_pytorch_model.safetensors} or {@code .bin}) or from a single weights file with
 * a config, accepting both attention namings diffusers has used.
 */
public final class VaeFiles {
    private VaeFiles() {}

    private static final String[] WEIGHT_NAMES = {"diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.bin", "model.safetensors", "pytorch_model.bin"};

    /**
     * @param path a folder, or a weights file
     * @param config a config.json, or null to look beside the weights
     */
    public static AutoencoderKL load(Path path, Path config) throws IOException {
        Path weights = weightsFile(path);
        Path cfg = config != null ? config : (Files.isDirectory(path) ? path : path.toAbsolutePath().getParent()).resolve("config.json");
        VaeConfig c = readConfig(cfg);
        AutoencoderKL vae = new AutoencoderKL(c);
        Map<String, Tensor> sd = normalizeKeys(CheckpointFile.read(weights, true).weights());
        StateDicts.load(vae, sd, weights.toString());
        vae.eval();
        return vae;
    }

    public static Path weightsFile(Path path) throws CheckpointException {
        if (Files.isRegularFile(path)) return path;
        if (!Files.isDirectory(path)) throw new CheckpointException(path + ": no such VAE folder or file");
        for (String n : WEIGHT_NAMES) if (Files.isRegularFile(path.resolve(n))) return path.resolve(n);
        throw new CheckpointException(path + ": no VAE weights (expected " + String.join(" or ", WEIGHT_NAMES) + ")");
    }

    public static VaeConfig readConfig(Path cfg) throws IOException {
        if (!Files.isRegularFile(cfg)) throw new CheckpointException(cfg + ": no VAE config.json (diffusers AutoencoderKL config) there");
        JsonNode n;
        try {
            n = new ObjectMapper().readTree(cfg.toFile());
        } catch (IOException e) {
            throw new CheckpointException(cfg + ": not valid JSON (" + e.getMessage().lines().findFirst().orElse("") + ")");
        }
        try {
            return VaeConfig.fromJson(n);
        } catch (IllegalArgumentException e) {
            throw new CheckpointException(cfg + ": " + e.getMessage());
        }
    }

    /**
     * diffusers' older attention names ({@code query/key/value/proj_attn}) become the current
     * ones ({@code to_q/to_k/to_v/to_out.0}); 1x1-convolution weights of those layers become matrices.
     */
    public static Map<String, Tensor> normalizeKeys(Map<String, Tensor> sd) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : sd.entrySet()) {
            String k = e.getKey();
            Tensor v = e.getValue();
            if (k.contains(".attentions.")) {
                k = k.replace(".query.", ".to_q.").replace(".key.", ".to_k.").replace(".value.", ".to_v.").replace(".proj_attn.", ".to_out.0.");
                if (k.endsWith(".weight") && v.dim() == 4 && v.size(2) == 1 && v.size(3) == 1 && !k.contains("group_norm")) {
                    v = v.view(v.size(0), v.size(1));
                }
            }
            out.put(k, v);
        }
        return out;
    }

    /** Parameter count of a configuration (builds the module). */
    public static long parameters(VaeConfig c) {
        long n = 0;
        for (Tensor t : StateDicts.of(new AutoencoderKL(c)).values()) n += t.numel();
        return n;
    }

    /** Writes a hub-style folder: config.json and diffusion_pytorch_model.safetensors. */
    public static void save(AutoencoderKL vae, Path dir) throws IOException {
        Files.createDirectories(dir);
        byte[] json = new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsBytes(vae.config.toJson());
        dit4j.io.AtomicFiles.write(dir.resolve("config.json"), o -> o.write(json));
        dit4j.io.Safetensors.write(dir.resolve("diffusion_pytorch_model.safetensors"), StateDicts.of(vae), Map.of("format", "pt"));
    }

    static String shape(Tensor t) {
        return Tensors.shapeString(t);
    }
}
