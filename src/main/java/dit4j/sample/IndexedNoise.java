package dit4j.sample;

import static dit4j.runtime.TensorMath.cat;

import java.util.SplittableRandom;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Randomness keyed by an image's global index: image i's label, its x_T and every later draw of
 * a stochastic sampler come from generators seeded with {@code (seed, i)} alone. So how the
 * indices are split over workers, batches and reruns cannot change any image (unlike the
 * official sample_ddp.py, whose per-rank seeds make the images depend on the world size).
 */
public final class IndexedNoise {
    private IndexedNoise() {}

    /** The seed of image {@code index}'s generators: splitmix64 over (seed, index). */
    public static long seedOf(long seed, long index) {
        return mix(mix(seed) + index);
    }

    private static long mix(long z) {
        z += 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** Labels uniform over {@code classes}, image i's from (seed, i): what sample_ddp.py draws per batch, drawn per image. */
    public static long[] labels(long seed, int count, int classes) {
        long[] ys = new long[count];
        for (int i = 0; i < count; i++) ys[i] = new SplittableRandom(seedOf(seed, i)).nextInt(classes);
        return ys;
    }

    /** One CPU generator per image of a batch (CPU draws, then moved: the same noise on every device). */
    public static Generator[] generators(long seed, int[] indices) {
        Generator[] g = new Generator[indices.length];
        for (int j = 0; j < g.length; j++) g[j] = torch.createCPUGenerator(seedOf(seed, indices[j]));
        return g;
    }

    /** Each image's draw of {@code shape} (leading dimension 1), stacked in batch order. */
    public static Tensor randn(Generator[] gens, long[] shape, ScalarType dtype) {
        long[] one = shape.clone();
        one[0] = 1;
        Tensor[] parts = new Tensor[gens.length];
        for (int j = 0; j < gens.length; j++) parts[j] = torch.randn(one, new GeneratorOptional(gens[j]), new TensorOptions(dtype));
        return parts.length == 1 ? parts[0] : cat(0, parts);
    }
}
