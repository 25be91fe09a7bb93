package dit4j.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The hyper-parameters of a DiT, with the official names (models.py) and defaults.
 *
 * @param inputSize spatial size of the (square) input, latent or pixel
 * @param patchSize side of a patch; inputSize must be divisible by it
 * @param inChannels channels of the input (4 for SD-VAE latents)
 * @param hiddenSize width of the transformer
 * @param depth number of DiT blocks
 * @param numHeads attention heads; hiddenSize must be divisible by it
 * @param mlpRatio MLP hidden width as a multiple of hiddenSize
 * @param classDropoutProb label dropout for classifier-free guidance; 0 means no null class
 * @param numClasses number of real classes; the null class is {@code numClasses}
 * @param learnSigma whether the model also predicts the variance (doubling the output channels)
 * @param arch conditioning design and descendants' options; {@link Arch#OFFICIAL} is the official model
 */
public record DiTConfig(
        int inputSize,
        int patchSize,
        int inChannels,
        int hiddenSize,
        int depth,
        int numHeads,
        double mlpRatio,
        double classDropoutProb,
        int numClasses,
        boolean learnSigma,
        Arch arch) {

    /** The official architecture. */
    public DiTConfig(int inputSize, int patchSize, int inChannels, int hiddenSize, int depth, int numHeads,
            double mlpRatio, double classDropoutProb, int numClasses, boolean learnSigma) {
        this(inputSize, patchSize, inChannels, hiddenSize, depth, numHeads, mlpRatio, classDropoutProb, numClasses, learnSigma, Arch.OFFICIAL);
    }

    public DiTConfig {
        require(arch != null, "arch must not be null");
        require(inputSize > 0, "input_size must be positive, got " + inputSize);
        require(patchSize > 0, "patch_size must be positive, got " + patchSize);
        require(inputSize % patchSize == 0, "input_size " + inputSize + " is not divisible by patch_size " + patchSize);
        require(inChannels > 0, "in_channels must be positive, got " + inChannels);
        require(hiddenSize > 0 && depth >= 0 && numHeads > 0, "hidden_size, depth and num_heads must be positive");
        require(hiddenSize % numHeads == 0, "hidden_size " + hiddenSize + " is not divisible by num_heads " + numHeads);
        // Rotary embeddings split each head in four quarters of pairs: column and row, cos and sin.
        require(arch.pos() != Arch.Pos.ROPE || (hiddenSize / numHeads) % 4 == 0, "rope needs a head dimension divisible by 4, got " + hiddenSize / numHeads);
        require(hiddenSize % 4 == 0, "hidden_size " + hiddenSize + " must be divisible by 4 for the 2-D sin-cos position embedding");
        require(mlpRatio > 0, "mlp_ratio must be positive, got " + mlpRatio);
        require(classDropoutProb >= 0 && classDropoutProb < 1, "class_dropout_prob must be in [0, 1), got " + classDropoutProb);
        require(numClasses > 0, "num_classes must be positive, got " + numClasses);
        // Bounds that no real model reaches, so that a corrupt or hostile configuration fails here
        // in one line instead of allocating the machine away.
        require(inputSize <= 8192, "input_size " + inputSize + " is larger than 8192");
        require((long) (inputSize / patchSize) * (inputSize / patchSize) <= (1 << 20), "input_size " + inputSize + " / patch_size " + patchSize + " makes more than 2^20 tokens");
        require(hiddenSize <= 65536 && depth <= 4096 && numHeads <= hiddenSize, "hidden_size " + hiddenSize + ", depth " + depth + " or num_heads " + numHeads + " is beyond any real model");
        require(mlpRatio <= 64 && inChannels <= 1024 && numClasses <= 10_000_000, "mlp_ratio " + mlpRatio + ", in_channels " + inChannels + " or num_classes " + numClasses + " is beyond any real model");
    }

    /** The official sizes: depth, hidden size, heads. */
    private static final Map<String, int[]> SIZES = new LinkedHashMap<>();

    static {
        SIZES.put("XL", new int[] {28, 1152, 16});
        SIZES.put("L", new int[] {24, 1024, 16});
        SIZES.put("B", new int[] {12, 768, 12});
        SIZES.put("S", new int[] {12, 384, 6});
    }

    /** Every official model name, e.g. {@code DiT-XL/2}. */
    public static java.util.List<String> officialNames() {
        java.util.List<String> names = new java.util.ArrayList<>();
        for (String size : SIZES.keySet()) for (int p : new int[] {2, 4, 8}) names.add("DiT-" + size + "/" + p);
        return names;
    }

    /** An official configuration ({@code DiT-S/2} or {@code DiT-S-2}) with the official defaults. */
    public static DiTConfig named(String name, int inputSize) {
        return named(name, inputSize, 4, 1000, true, 0.1);
    }

    public static DiTConfig named(String name, int inputSize, int inChannels, int numClasses, boolean learnSigma, double classDropout) {
        String n = name.trim();
        if (!n.startsWith("DiT-")) throw new IllegalArgumentException(unknown(name));
        String rest = n.substring(4).replace('-', '/');
        int slash = rest.indexOf('/');
        if (slash < 0) throw new IllegalArgumentException(unknown(name));
        int[] size = SIZES.get(rest.substring(0, slash));
        int patch;
        try {
            patch = Integer.parseInt(rest.substring(slash + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(unknown(name));
        }
        if (size == null || (patch != 2 && patch != 4 && patch != 8)) throw new IllegalArgumentException(unknown(name));
        return new DiTConfig(inputSize, patch, inChannels, size[1], size[0], size[2], 4.0, classDropout, numClasses, learnSigma);
    }

    private static String unknown(String name) {
        return "unknown model '" + name + "': expected one of " + officialNames() + " (or give --depth/--hidden-size/--heads/--patch)";
    }

    public DiTConfig withArch(Arch a) {
        return new DiTConfig(inputSize, patchSize, inChannels, hiddenSize, depth, numHeads, mlpRatio, classDropoutProb, numClasses, learnSigma, a);
    }

    /** The same model at another input size (rotary embeddings carry no table, so its weights still fit). */
    public DiTConfig withInputSize(int size) {
        return new DiTConfig(size, patchSize, inChannels, hiddenSize, depth, numHeads, mlpRatio, classDropoutProb, numClasses, learnSigma, arch);
    }

    public Arch.Block block() {
        return arch.block();
    }

    public int outChannels() {
        return learnSigma ? inChannels * 2 : inChannels;
    }

    public int gridSize() {
        return inputSize / patchSize;
    }

    public int numPatches() {
        return gridSize() * gridSize();
    }

    public int mlpHidden() {
        return (int) (hiddenSize * mlpRatio);
    }

    public boolean hasNullClass() {
        return classDropoutProb > 0;
    }

    /** The official name if this is an official size, otherwise a descriptive one. */
    public String displayName() {
        for (var e : SIZES.entrySet()) {
            int[] s = e.getValue();
            if (s[0] == depth && s[1] == hiddenSize && s[2] == numHeads && mlpRatio == 4.0 && (patchSize == 2 || patchSize == 4 || patchSize == 8)) {
                return "DiT-" + e.getKey() + "/" + patchSize;
            }
        }
        return "DiT-d" + depth + "-h" + hiddenSize + "/" + patchSize;
    }

    /** The JSON object used by test vectors and checkpoints (official argument names). */
    public ObjectNode toJson() {
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.put("input_size", inputSize);
        o.put("patch_size", patchSize);
        o.put("in_channels", inChannels);
        o.put("hidden_size", hiddenSize);
        o.put("depth", depth);
        o.put("num_heads", numHeads);
        o.put("mlp_ratio", mlpRatio);
        o.put("class_dropout_prob", classDropoutProb);
        o.put("num_classes", numClasses);
        o.put("learn_sigma", learnSigma);
        arch.writeTo(o);
        return o;
    }

    public static DiTConfig fromJson(JsonNode o) {
        return new DiTConfig(
                req(o, "input_size").asInt(),
                req(o, "patch_size").asInt(),
                o.path("in_channels").asInt(4),
                req(o, "hidden_size").asInt(),
                req(o, "depth").asInt(),
                req(o, "num_heads").asInt(),
                o.path("mlp_ratio").asDouble(4.0),
                o.path("class_dropout_prob").asDouble(0.1),
                o.path("num_classes").asInt(1000),
                o.path("learn_sigma").asBoolean(true),
                Arch.readFrom(o));
    }

    private static JsonNode req(JsonNode o, String key) {
        JsonNode v = o.get(key);
        if (v == null || v.isNull()) throw new IllegalArgumentException("model configuration lacks '" + key + "'");
        return v;
    }

    private static void require(boolean ok, String message) {
        if (!ok) throw new IllegalArgumentException(message);
    }
}
