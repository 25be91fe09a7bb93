package dit4j.data;

import dit4j.runtime.Tensors;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.global.torch;

/**
 * The index order of {@code torch.utils.data.DistributedSampler(shuffle=True, seed=s)}: each epoch
 * a permutation from a generator seeded {@code s + epoch} (libtorch's randperm draws the same
 * numbers as PyTorch's), padded to a multiple of the world size, and rank r takes every
 * world-th index starting at r.
 */
public final class ShardedSampler {
    private final int size;
    private final long seed;
    private final int rank;
    private final int worldSize;

    public ShardedSampler(int size, long seed, int rank, int worldSize) {
        if (size <= 0) throw new IllegalArgumentException("the dataset is empty");
        if (rank < 0 || rank >= worldSize) throw new IllegalArgumentException("rank " + rank + " outside world of " + worldSize);
        this.size = size;
        this.seed = seed;
        this.rank = rank;
        this.worldSize = worldSize;
    }

    /** Samples this rank sees per epoch. */
    public int perRank() {
        return (size + worldSize - 1) / worldSize;
    }

    /** This rank's indices for one epoch. */
    public int[] epoch(long epoch) {
        Generator g = torch.createCPUGenerator(seed + epoch);
        long[] perm = Tensors.toLongs(torch.randperm(size, new GeneratorOptional(g)));
        int total = perRank() * worldSize;
        int[] out = new int[perRank()];
        for (int i = 0, k = rank; k < total; i++, k += worldSize) out[i] = (int) perm[k % size];
        return out;
    }
}
