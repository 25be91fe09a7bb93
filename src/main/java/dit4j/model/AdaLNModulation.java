package dit4j.model;

import static dit4j.runtime.TensorMath.chunk;

import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * {@code adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(D, k * D))}: the conditioning
 * vector regressed to k shift/scale/gate vectors. The Linear sits at index 1, as in the official
 * Sequential, so its weights are {@code adaLN_modulation.1.weight}.
 */
public final class AdaLNModulation extends Module {
    public final Linear linear;
    private final int chunks;

    AdaLNModulation(int hidden, int chunks) {
        this.chunks = chunks;
        linear = register_module("1", new Linear(hidden, chunks * hidden));
    }

    /** {@code adaLN_modulation(c).chunk(k, dim=1)}. */
    public Tensor[] forward(Tensor c) {
        return chunk(linear.forward(torch.silu(c)), chunks, 1);
    }

    void zeroInit() {
        linear.zeroInit();
    }
}
