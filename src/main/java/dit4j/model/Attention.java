package dit4j.model;

import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/** Multi-head self-attention (timm's {@code Attention}: fused qkv projection, qkv bias, output projection). */
public final class Attention extends Module {
    public final Linear qkv;
    public final Linear proj;
    private final int numHeads;

    public Attention(int dim, int numHeads) {
        this.numHeads = numHeads;
        qkv = register_module("qkv", new Linear(dim, dim * 3));
        proj = register_module("proj", new Linear(dim, dim));
    }

    public Tensor forward(Tensor x) {
        long b = x.size(0), n = x.size(1), c = x.size(2);
        // (B, N, 3C) -> (3, B, heads, N, head_dim)
        Tensor qkvHeads = qkv.forward(x).view(b, n, 3, numHeads, c / numHeads).permute(2, 0, 3, 1, 4);
        Tensor out = torch.scaled_dot_product_attention(qkvHeads.select(0, 0), qkvHeads.select(0, 1), qkvHeads.select(0, 2));
        return proj.forward(out.transpose(1, 2).reshape(b, n, c));
    }

    void initialize(Generator g) {
        qkv.xavierInit(g);
        proj.xavierInit(g);
    }
}
