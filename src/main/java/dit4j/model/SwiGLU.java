package dit4j.model;

import static dit4j.runtime.TensorMath.chunk;

import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * {@code w3(silu(x1) * x2)} with {@code x1, x2 = w12(x).chunk(2)}: DINOv2's {@code SwiGLUFFN},
 * which LightningDiT uses with 2/3 of the GELU MLP's hidden width so that the parameter count
 * stays that of the MLP it replaces.
 */
public final class SwiGLU extends Module implements FeedForward {
    public final Linear w12;
    public final Linear w3;

    public SwiGLU(int dim, int hidden) {
        w12 = register_module("w12", new Linear(dim, 2 * hidden));
        w3 = register_module("w3", new Linear(hidden, dim));
    }

    /** LightningDiT's {@code int(2 / 3 * mlp_hidden_dim)}. */
    public static int hiddenFor(int mlpHidden) {
        return (int) (2.0 / 3.0 * mlpHidden);
    }

    @Override
    public Tensor forward(Tensor x) {
        return w3.forward(hidden(x));
    }

    /** {@code silu(x1) * x2}, the input of w3. */
    public Tensor hidden(Tensor x) {
        Tensor[] x12 = chunk(w12.forward(x), 2, -1);
        return torch.silu(x12[0]).mul(x12[1]);
    }

    @Override
    public void initialize(Generator g) {
        w12.xavierInit(g);
        w3.xavierInit(g);
    }
}
