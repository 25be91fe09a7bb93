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
        double mlpRatio = depth > 0 ? (double) need(shapes, "blocks.0.mlp.fc1.weight", 2)[0] / hidden : 4.0;
        int outChannels = (int) (out[0] / ((long) patch * patch));
        boolean learnSigma = outChannels == 2 * inChannels;
        // With label dropout (the official default) the table has a row for the null class.
        int numClasses = (int) table[0] - 1;
        int heads = numHeads > 0 ? numHeads : defaultHeads(hidden);
        return new DiTConfig(grid * patch, patch, inChannels, hidden, depth, heads, mlpRatio, 0.1, Math.max(numClasses, 1), learnSigma);
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
