package dit4j.model;

import java.util.Arrays;
import java.util.Map;

/** Recovers a DiT configuration from the shapes of its state dict. */
public final class ConfigInference {
    private ConfigInference() {}

    /**
     * @param shapes parameter name to shape
     * @param numHeads the head count, or 0 to take the official one for the width (64-wide heads otherwise);
     *     head count is the one hyper-parameter that no weight shape reveals
     */
    public static DiTConfig infer(Map<String, long[]> shapes, int numHeads) {
        long[] proj = need(shapes, "x_embedder.proj.weight", 4);
        long[] pos = need(shapes, "pos_embed", 3);
        long[] table = need(shapes, "y_embedder.embedding_table.weight", 2);
        long[] out = need(shapes, "final_layer.linear.weight", 2);
        int hidden = (int) proj[0], inChannels = (int) proj[1], patch = (int) proj[2];
        int grid = (int) Math.round(Math.sqrt(pos[1]));
        if ((long) grid * grid != pos[1]) throw new IllegalArgumentException("pos_embed has " + pos[1] + " tokens, not a square grid");
        int depth = 0;
        while (shapes.containsKey("blocks." + depth + ".attn.qkv.weight")) depth++;
        double mlpRatio = depth == 0 ? 4.0
                : shapes.containsKey("blocks.0.mlp.w3.weight") ? swigluRatio((int) need(shapes, "blocks.0.mlp.w3.weight", 2)[1], hidden)
                : (double) need(shapes, "blocks.0.mlp.fc1.weight", 2)[0] / hidden;
        int outChannels = (int) (out[0] / ((long) patch * patch));
        boolean learnSigma = outChannels == 2 * inChannels;
        // With label dropout (the official default) the table has a row for the null class.
        int numClasses = (int) table[0] - 1;
        int heads = numHeads > 0 ? numHeads : defaultHeads(hidden);
        return new DiTConfig(grid * patch, patch, inChannels, hidden, depth, heads, mlpRatio, 0.1, Math.max(numClasses, 1), learnSigma, archOf(shapes, hidden));
    }

    /** The design and options the parameter names reveal (a sin-cos table: rotary checkpoints record their configuration). */
    static Arch archOf(Map<String, long[]> shapes, int hidden) {
        Arch.Block block = blockOf(shapes.keySet(), shapes::get);
        Arch.QkNorm qk = !shapes.containsKey("blocks.0.attn.q_norm.weight") ? Arch.QkNorm.NONE
                : shapes.containsKey("blocks.0.attn.q_norm.bias") ? Arch.QkNorm.LAYERNORM : Arch.QkNorm.RMSNORM;
        Arch.MlpKind mlp = shapes.containsKey("blocks.0.mlp.w12.weight") ? Arch.MlpKind.SWIGLU : Arch.MlpKind.GELU;
        // Only affine norms (in-context, cross-attention) show which kind they are.
        Arch.NormKind norm = shapes.containsKey("blocks.0.norm1.weight") && !shapes.containsKey("blocks.0.norm1.bias")
                ? Arch.NormKind.RMSNORM : Arch.NormKind.LAYERNORM;
        return new Arch(block != null ? block : Arch.Block.ADALN_ZERO, qk, Arch.Pos.SINCOS, mlp, norm);
    }

    /**
     * The blocks' conditioning design from the first block's parameter names, or null if there is
     * no block. adaLN has adaLN-Zero's parameters, so its weights read as adaLN-Zero (the official
     * design): dit4j's adaLN checkpoints record their design, and a given configuration decides too.
     *
     * @throws IllegalArgumentException if the regression is not [6D, D], such as the four vectors
     *     of adaLN checkpoints written before adaLN took adaLN-Zero's six
     */
    public static Arch.Block blockOf(java.util.Set<String> keys, java.util.function.Function<String, long[]> shape) {
        if (!keys.contains("blocks.0.attn.qkv.weight")) return null;
        if (keys.contains("blocks.0.cross_attn.q_linear.weight")) return Arch.Block.CROSS_ATTENTION;
        String key = "blocks.0.adaLN_modulation.1.weight";
        if (!keys.contains(key)) return Arch.Block.IN_CONTEXT;
        long[] s = shape.apply(key);
        if (s.length != 2 || s[0] != 6 * s[1]) {
            String old = s.length == 2 && s[0] == 4 * s[1] ? " (four vectors: a dit4j adaLN checkpoint from before adaLN regressed adaLN-Zero's six)" : "";
            String want = s.length == 2 ? " = [" + 6 * s[1] + ", " + s[1] + "]" : "";
            throw new IllegalArgumentException("'" + key + "' has shape " + Arrays.toString(s) + ", expected [6D, D]" + want + old);
        }
        return Arch.Block.ADALN_ZERO;
    }

    /** The MLP ratio whose SwiGLU width (2/3 of the MLP's, rounded down) is {@code width}: a multiple of 1/4 if one fits. */
    private static double swigluRatio(int width, int hidden) {
        int best = -1;
        for (int m = width * 3 / 2 - 3; m <= width * 3 / 2 + 3; m++) {
            if (m <= 0 || SwiGLU.hiddenFor(m) != width) continue;
            if (best < 0 || (4L * m) % hidden == 0) best = m;
        }
        return (double) (best > 0 ? best : width * 3 / 2) / hidden;
    }

    /** The official head count for the official widths, else 64-dimensional heads. */
    public static int defaultHeads(int hidden) {
        switch (hidden) {
            case 1152: case 1024: return 16;
            case 768: return 12;
            case 384: return 6;
            default: return hidden % 64 == 0 ? hidden / 64 : 1;
        }
    }

    private static long[] need(Map<String, long[]> shapes, String key, int dims) {
        long[] s = shapes.get(key);
        if (s == null) throw new IllegalArgumentException("cannot infer the model configuration: no '" + key + "' in the weights (is this a DiT checkpoint?)");
        if (s.length != dims) throw new IllegalArgumentException("cannot infer the model configuration: '" + key + "' has shape " + Arrays.toString(s));
        return s;
    }
}
