package dit4j.model;

/**
 * Size and cost of a DiT configuration, counted from the architecture.
 *
 * <p>Flops are multiply-accumulates of one forward pass of one sample, as the paper counts
 * them: every linear layer, the patch projection, and the two attention matmuls (QK^T and AV).
 * Elementwise work (norms, activations, softmax, modulation) is left out.
 */
public final class ModelStats {
    private ModelStats() {}

    public static long parameters(DiTConfig c) {
        long d = c.hiddenSize(), p = c.patchSize(), m = c.mlpHidden();
        long patch = d * c.inChannels() * p * p + d;
        long timestep = (TimestepEmbedder.FREQUENCY_EMBEDDING_SIZE * d + d) + (d * d + d);
        long label = (long) (c.numClasses() + (c.hasNullClass() ? 1 : 0)) * d;
        long pos = (long) c.numPatches() * d;
        long block = (d * 3 * d + 3 * d) + (d * d + d) + (d * m + m) + (m * d + d) + (d * 6 * d + 6 * d);
        long fin = (d * p * p * c.outChannels() + p * p * c.outChannels()) + (d * 2 * d + 2 * d);
        return patch + timestep + label + pos + block * c.depth() + fin;
    }

    /** Multiply-accumulates of one forward pass for one sample. */
    public static double macs(DiTConfig c) {
        double d = c.hiddenSize(), p = c.patchSize(), m = c.mlpHidden(), t = c.numPatches();
        double patch = t * c.inChannels() * p * p * d;
        double timestep = TimestepEmbedder.FREQUENCY_EMBEDDING_SIZE * d + d * d;
        double attention = t * (3 * d * d + d * d) + 2 * t * t * d;
        double mlp = t * 2 * d * m;
        double block = 6 * d * d + attention + mlp;
        double fin = 2 * d * d + t * d * p * p * c.outChannels();
        return patch + timestep + block * c.depth() + fin;
    }

    public static double gflops(DiTConfig c) {
        return macs(c) / 1e9;
    }
}
