package dit4j.model;

import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;

/**
 * Multi-head cross-attention of the image tokens to a short conditioning sequence, with the
 * layer names of PixArt-alpha's {@code MultiHeadCrossAttention}: queries from the tokens
 * ({@code q_linear}), keys and values from the context ({@code kv_linear}), output {@code proj}.
 */
public final class CrossAttention extends Module {
    public final Linear q_linear;
    public final Linear kv_linear;
    public final Linear proj;
    private final int numHeads;

    public CrossAttention(int dim, int numHeads) {
        this.numHeads = numHeads;
        q_linear = register_module("q_linear", new Linear(dim, dim));
        kv_linear = register_module("kv_linear", new Linear(dim, dim * 2));
        proj = register_module("proj", new Linear(dim, dim));
    }

    /** @param x (B, N, C) tokens; @param context (B, M, C), here the t and y embeddings (M = 2) */
    public Tensor forward(Tensor x, Tensor context) {
        long b = x.size(0), n = x.size(1), c = x.size(2), m = context.size(1), hd = c / numHeads;
        Tensor q = q_linear.forward(x).view(b, n, numHeads, hd).transpose(1, 2);
        // (B, M, 2C) -> (2, B, heads, M, head_dim)
        Tensor kv = kv_linear.forward(context).view(b, m, 2, numHeads, hd).permute(2, 0, 3, 1, 4);
        Tensor k = kv.select(0, 0), v = kv.select(0, 1);
        return proj.forward(Attention.attend(q, k, v).transpose(1, 2).reshape(b, n, c));
    }

    void initialize(Generator g) {
        q_linear.xavierInit(g);
        kv_linear.xavierInit(g);
        proj.xavierInit(g);
    }
}
