package dit4j.model;

import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/** {@code fc2(gelu_tanh(fc1(x)))}, timm's {@code Mlp} with the tanh-approximate GELU DiT uses. */
public final class Mlp extends Module implements FeedForward {
    public final Linear fc1;
    public final Linear fc2;

    public Mlp(int dim, int hidden) {
        fc1 = register_module("fc1", new Linear(dim, hidden));
        fc2 = register_module("fc2", new Linear(hidden, dim));
    }

    @Override
    public Tensor forward(Tensor x) {
        return fc2.forward(hidden(x));
    }

    /**
     * {@code gelu_tanh(fc1(x))}. Without autograd (sampling) the activation overwrites fc1's
     * output, one 4x-wide tensor less per block.
     */
    public Tensor hidden(Tensor x) {
        Tensor h = fc1.forward(x);
        if (!InferenceMode.is_enabled()) return torch.gelu(h, "tanh");
        torch.gelu_(h, "tanh"); // returns a borrowed reference: keep the owning handle
        return h;
    }

    @Override
    public void initialize(Generator g) {
        fc1.xavierInit(g);
        fc2.xavierInit(g);
    }
}
