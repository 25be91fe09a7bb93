package dit4j.model;

import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;

/** The feed-forward layer of a block: {@link Mlp} (GELU, the official) or {@link SwiGLU}. */
public interface FeedForward {
    Tensor forward(Tensor x);

    void initialize(Generator g);

    /** Registers the chosen layer as {@code mlp} of {@code owner}. */
    static FeedForward register(Module owner, Arch.MlpKind kind, int dim, int mlpHidden) {
        if (kind == Arch.MlpKind.SWIGLU) return owner.register_module("mlp", new SwiGLU(dim, SwiGLU.hiddenFor(mlpHidden)));
        return owner.register_module("mlp", new Mlp(dim, mlpHidden));
    }
}
