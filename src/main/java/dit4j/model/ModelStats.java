package dit4j.model;

/**
 * Size and cost of a DiT configuration, counted from the architecture.
 *
 * <p>Flops are multiply-accumulates of one forward pass of one sample, as the paper counts
 * them: every linear layer, the patch projection, and the two attention matmuls (QK^T and AV).
 * Elementwise work (norms, activations, softmax, modulation, rotary embeddings) is left out.
 * For the paper's designs this gives its Figure 5 numbers for DiT-XL/2 at 256 px: adaLN-Zero
 * and adaLN 118.6 (the same six-vector regression), in-context 119.4 (every block sees T + 2
 * tokens), cross-attention 137.6 (q and output projections over T tokens, k and v over 2,
 * attention of T queries to 2 keys).
 */
public final class ModelStats {
    private ModelStats() {}

    public static long parameters(DiTConfig c) {
        long d = c.hiddenSize(), p = c.patchSize();
        Arch a = c.arch();
        long patch = d * c.inChannels() * p * p + d;
        long timestep = (TimestepEmbedder.FREQUENCY_EMBEDDING_SIZE * d + d) + (d * d + d);
        long label = (long) (c.numClasses() + (c.hasNullClass() ? 1 : 0)) * d;
        long pos = a.pos() == Arch.Pos.SINCOS ? (long) c.numPatches() * d : 0;
        long attention = (d * 3 * d + 3 * d) + (d * d + d);
        if (a.qkNorm() != Arch.QkNorm.NONE) attention += 2 * normParams(a.qkNorm() == Arch.QkNorm.RMSNORM, d / c.numHeads());
        long block = attention + feedForwardParams(c);
        boolean rms = a.norm() == Arch.NormKind.RMSNORM;
        block += switch (a.block()) {
            // adaLN regresses adaLN-Zero's six vectors and leaves the gates unused.
            case ADALN_ZERO, ADALN -> d * 6 * d + 6 * d;
            case IN_CONTEXT -> 2 * normParams(rms, d);
            case CROSS_ATTENTION -> 3 * normParams(rms, d) + (d * d + d) + (d * 2 * d + 2 * d) + (d * d + d);
        };
        long fin = (d * p * p * c.outChannels() + p * p * c.outChannels()) + (d * 2 * d + 2 * d);
        return patch + timestep + label + pos + block * c.depth() + fin;
    }

    private static long normParams(boolean rms, long dim) {
        return rms ? dim : 2 * dim;
    }

    private static long feedForwardParams(DiTConfig c) {
        long d = c.hiddenSize(), m = c.mlpHidden();
        if (c.arch().mlp() == Arch.MlpKind.SWIGLU) {
            long h = SwiGLU.hiddenFor(c.mlpHidden());
            return (d * 2 * h + 2 * h) + (h * d + d);
        }
        return (d * m + m) + (m * d + d);
    }

    /** Multiply-accumulates of one forward pass for one sample. */
    public static double macs(DiTConfig c) {
        double d = c.hiddenSize(), p = c.patchSize(), t = c.numPatches();
        Arch a = c.arch();
        double patch = t * c.inChannels() * p * p * d;
        double timestep = TimestepEmbedder.FREQUENCY_EMBEDDING_SIZE * d + d * d;
        // In-context blocks carry the t and y tokens along with the patches.
        double n = a.block() == Arch.Block.IN_CONTEXT ? t + 2 : t;
        double attention = n * (3 * d * d + d * d) + 2 * n * n * d;
        double ffn = n * feedForwardMacsPerToken(c);
        double block = attention + ffn + switch (a.block()) {
            case ADALN_ZERO, ADALN -> 6 * d * d;
            case IN_CONTEXT -> 0;
            // q and output projections of the T tokens, k and v of the 2 context tokens, T x 2 attention.
            case CROSS_ATTENTION -> t * 2 * d * d + 2 * 2 * d * d + 2 * t * 2 * d;
        };
        double fin = 2 * d * d + t * d * p * p * c.outChannels();
        return patch + timestep + block * c.depth() + fin;
    }

    private static double feedForwardMacsPerToken(DiTConfig c) {
        double d = c.hiddenSize();
        if (c.arch().mlp() == Arch.MlpKind.SWIGLU) return 3 * d * SwiGLU.hiddenFor(c.mlpHidden());
        return 2 * d * c.mlpHidden();
    }

    public static double gflops(DiTConfig c) {
        return macs(c) / 1e9;
    }
}
