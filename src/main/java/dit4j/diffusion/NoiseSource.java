package dit4j.diffusion;

import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

/** Where a sampler's per-step noise comes from: a seeded generator, or anything injected (a file, a test). */
@FunctionalInterface
public interface NoiseSource {
    /** Standard normal noise with the shape, dtype and device of {@code x}. */
    Tensor randnLike(Tensor x);

    static NoiseSource of(Generator g) {
        return x -> torch.randn(x.sizes().vec().get(), new GeneratorOptional(g), new TensorOptions(x.device()).dtype(new org.bytedeco.pytorch.ScalarTypeOptional(x.scalar_type())));
    }
}
