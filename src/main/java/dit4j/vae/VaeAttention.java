package dit4j.vae;

import dit4j.model.Linear;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * The single-head spatial self-attention of the VAE's middle block (diffusers {@code Attention}
 * with a group norm in front and a residual connection): every pixel attends to every pixel.
 */
final class VaeAttention extends Module {
    final Layers.GroupNorm groupNorm;
    final Linear toQ;
    final Linear toK;
    final Linear toV;
    final Linear toOut;
    private final Module toOutList;

    VaeAttention(int channels, int groups) {
        groupNorm = register_module("group_norm", new Layers.GroupNorm(groups, channels, 1e-6));
        toQ = register_module("to_q", new Linear(channels, channels));
        toK = register_module("to_k", new Linear(channels, channels));
        toV = register_module("to_v", new Linear(channels, channels));
        toOutList = register_module("to_out", new Module());
        toOut = toOutList.register_module("0", new Linear(channels, channels));
    }

    Tensor forward(Tensor x) {
        long b = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
        Tensor tokens = groupNorm.forward(x).view(b, c, h * w).transpose(1, 2);   // (B, HW, C)
        Tensor q = toQ.forward(tokens).unsqueeze(1), k = toK.forward(tokens).unsqueeze(1), v = toV.forward(tokens).unsqueeze(1);
        Tensor attended = torch.scaled_dot_product_attention(q, k, v).squeeze(1);
        Tensor out = toOut.forward(attended).transpose(1, 2).reshape(b, c, h, w);
        return out.add(x);
    }
}
