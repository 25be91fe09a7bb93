package dit4j.model;

import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;

/**
 * Image to patch tokens: {@code (N, C, H, W) -> (N, H/p * W/p, D)}.
 *
 * <p>The weights are those of the official strided {@code Conv2d} ({@code proj.weight (D, C, p, p)}),
 * applied as one matmul over flattened patches, which is the same sum and cheaper than a convolution.
 */
public final class PatchEmbed extends Module {
    public final Tensor weight;
    public final Tensor bias;
    private final TensorOptional biasOpt;
    private final Module proj;
    private final int patch;
    private final int inChannels;
    private final int hidden;

    public PatchEmbed(int inChannels, int hidden, int patch) {
        this.patch = patch;
        this.inChannels = inChannels;
        this.hidden = hidden;
        proj = register_module("proj", new Module());
        weight = torch.empty(hidden, inChannels, patch, patch);
        bias = torch.empty(hidden);
        proj.register_parameter("weight", weight);
        proj.register_parameter("bias", bias);
        biasOpt = new TensorOptional(bias);
    }

    public Tensor forward(Tensor x) {
        long n = x.size(0), h = x.size(2) / patch, w = x.size(3) / patch;
        Tensor patches = x.view(n, inChannels, h, patch, w, patch)
                .permute(0, 2, 4, 1, 3, 5)
                .reshape(n, h * w, (long) inChannels * patch * patch);
        return torch.linear(patches, weight.view(hidden, -1), biasOpt);
    }

    /** xavier_uniform_ on the weight viewed as (D, C*p*p), as the official code does. */
    void initialize(Generator g) {
        Init.xavierUniform(weight, (long) inChannels * patch * patch, hidden, g);
        bias.zero_();
    }
}
