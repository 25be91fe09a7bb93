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

    /** Draws from a CPU generator, then moves to x's device: the same noise for a seed on every device. */
    static NoiseSource of(Generator g) {
        return x -> dit4j.runtime.Devices.to(torch.randn(x.sizes().vec().get(), new GeneratorOptional(g),
                new TensorOptions(x.scalar_type().intern())), x.device());
    }
}
