package dit4j.eval;

import dit4j.runtime.Step;
import dit4j.runtime.Tensors;
import java.io.IOException;
import java.nio.file.Path;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * The Inception statistics of a set made chunk by chunk, shared by several ranks: chunk c is made
 * and run through the network by rank {@code c % world}. Per round of {@code world} chunks, each
 * rank writes its chunk's features into its own rows of a zeroed buffer, the buffers are summed
 * over the ranks (an all-gather by all-reduce), and rank 0 accumulates the rows in chunk order:
 * the order, and so the sums, of one process. With one process this is {@link Evaluator#activations}
 * on the same images in batches of the same size, to the last bit.
 */
public final class ChunkedPass {
    private ChunkedPass() {}

    /** The images, a chunk at a time. */
    public interface Chunks {
        long count();

        /**
         * Chunk {@code c}'s images as uint8 [n,H,W,3], or null past the end. Called for c = 0, 1, ...
         * in order on every rank; {@code mine} false means this rank only needs its size (a
         * stream may still have to read it). Called inside a Step.
         */
        Tensor chunk(long c, boolean mine) throws IOException;
    }

    /** Sums a tensor in place over the ranks. */
    public interface Reduce {
        void sum(Tensor t);

        Reduce NONE = t -> {};
    }

    private static final int POOL = 2048, SPATIAL = 2023;

    /**
     * The activations (2048-d pool features and sFID features; pool features per image kept only
     * with {@code keepPool3}) on rank 0; null on the other ranks.
     *
     * @param chunkSize the largest chunk the source gives
     */
    public static Evaluator.Activations run(InceptionV3 net, Chunks chunks, int chunkSize, Evaluator.Options o, int rank, int world,
            Reduce reduce, boolean keepPool3, Path where, Evaluator.Listener l, String name) throws IOException {
        if (o.dims() != POOL) throw new IllegalArgumentException("a chunked pass computes the 2048-d pool features only, got --dims " + o.dims());
        long n = chunks.count();
        boolean root = rank == 0;
        Tensor pool3 = root && keepPool3 ? Tensors.empty(ScalarType.Float, n, POOL) : null;
        Evaluator.Moments fid = root ? new Evaluator.Moments(POOL) : null, spatial = root ? new Evaluator.Moments(SPATIAL) : null;
        Tensor buffer = torch.zeros(new long[] {(long) world * chunkSize, POOL + SPATIAL}, Tensors.options(ScalarType.Float));
        long done = 0, c = 0;
        int[] sizes = new int[world];
        l.progress(name, 0, n);
        boolean more = true;
        while (more) {
            buffer.zero_();
            java.util.Arrays.fill(sizes, 0);
            for (int r = 0; r < world; r++, c++) {
                try (Step s = Step.open(); InferenceMode g = new InferenceMode()) {
                    Tensor u8 = chunks.chunk(c, r == rank);
                    if (u8 == null) {
                        more = false;
                        break;
                    }
                    int b = (int) u8.size(0);
                    if (b > chunkSize) throw new IllegalStateException(where + ": chunk " + c + " has " + b + " images, more than " + chunkSize);
                    sizes[r] = b;
                    if (r != rank) continue;
                    InceptionV3.Features f = net.featuresUint8(u8, o.resize());
                    Tensor rows = buffer.narrow(0, (long) r * chunkSize, b);
                    rows.narrow(1, 0, POOL).copy_(f.pool3());
                    rows.narrow(1, POOL, SPATIAL).copy_(f.spatial());
                }
            }
            reduce.sum(buffer);
            if (root) {
                for (int r = 0; r < world && sizes[r] > 0; r++) {
                    try (Step s = Step.open()) {
                        Tensor rows = buffer.narrow(0, (long) r * chunkSize, sizes[r]);
                        // contiguous, as the network returns them: the same matmuls, so the same sums to the bit
                        Tensor p = rows.narrow(1, 0, POOL).contiguous();
                        if (pool3 != null) pool3.narrow(0, done, sizes[r]).copy_(p);
                        fid.add(p);
                        spatial.add(rows.narrow(1, POOL, SPATIAL).contiguous());
                    }
                    done += sizes[r];
                }
            } else {
                for (int r = 0; r < world; r++) done += sizes[r];
            }
            l.progress(name, done, n);
        }
        if (done != n) throw new IllegalStateException(where + ": read " + done + " of " + n + " images");
        return root ? new Evaluator.Activations(n, fid.stats(where), spatial.stats(where), pool3) : null;
    }

    /** An image set as chunks of {@code chunkSize} (a folder's chunk may be shorter where the image size changes). */
    public static Chunks of(ImageSet set, int chunkSize) {
        return new Chunks() {
            @Override
            public long count() {
                return set.count();
            }

            @Override
            public Tensor chunk(long c, boolean mine) throws IOException {
                return set.next(chunkSize);
            }
        };
    }
}
