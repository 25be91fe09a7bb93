package dit4j.model;

import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;

/** {@code y = x W^T + b}, with the parameter names of {@code torch.nn.Linear}. */
public final class Linear extends Module {
    public final Tensor weight;
    public final Tensor bias;
    private final TensorOptional biasOpt;

    public Linear(int in, int out) {
        // Uninitialised: DiT.create initialises every parameter, a checkpoint overwrites them.
        weight = torch.empty(out, in);
        bias = torch.empty(out);
        register_parameter("weight", weight);
        register_parameter("bias", bias);
        biasOpt = new TensorOptional(bias);
    }

    public Tensor forward(Tensor x) {
        return torch.linear(x, weight, biasOpt);
    }

    /** xavier_uniform_ on the weight and a zero bias: the official {@code _basic_init}. */
    void xavierInit(Generator g) {
        Init.xavierUniform(weight, weight.size(1), weight.size(0), g);
        bias.zero_();
    }

    void zeroInit() {
        weight.zero_();
        bias.zero_();
    }
}
