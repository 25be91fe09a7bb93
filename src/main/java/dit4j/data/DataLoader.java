package dit4j.data;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Batches of a dataset, assembled on background threads ahead of the model, in an order that
 * depends only on (seed, epoch, position): a resumed run sees exactly the batches an
 * uninterrupted one would have. Incomplete last batches are dropped, as the official loader does.
 */
public final class DataLoader implements AutoCloseable {

    /** Images (N, C, H, W) flattened, labels, and where the batch sits in the data order. */
    public record Batch(float[] x, long[] y, long epoch, int indexInEpoch) {}

    private final ImageDataset data;
    private final ShardedSampler sampler;
    private final int batchSize;
    private final long flipSeed;
    private final boolean flip;
    private final int prefetch;
    private final ExecutorService pool;
    private final ArrayDeque<Future<Batch>> queue = new ArrayDeque<>();
    private long nextEpoch;
    private int nextIndex;
    private int[] order;
    private long orderEpoch = -1;

    /**
     * @param flip random horizontal flips, decided per (seed, epoch, image)
     * @param workers background decoding threads
     */
    public DataLoader(ImageDataset data, int batchSize, long seed, int rank, int worldSize, boolean flip, int workers) {
        this.data = data;
        this.sampler = new ShardedSampler(data.size(), seed, rank, worldSize);
        if (batchSize < 1) throw new IllegalArgumentException("batch size must be positive, got " + batchSize);
        if (batchesPerEpoch(data.size(), batchSize, worldSize) == 0) {
            throw new IllegalArgumentException("the dataset has " + data.size() + " images, fewer than one batch of " + batchSize + " per rank");
        }
        this.batchSize = batchSize;
        this.flipSeed = seed;
        this.flip = flip;
        this.prefetch = Math.max(2, workers * 2);
        this.pool = Executors.newFixedThreadPool(Math.max(1, workers), r -> {
            Thread t = new Thread(r, "dit4j-data");
            t.setDaemon(true);
            return t;
        });
    }

    public static int batchesPerEpoch(int size, int batchSize, int worldSize) {
        return ((size + worldSize - 1) / worldSize) / batchSize;
    }

    public int batchesPerEpoch() {
        return sampler.perRank() / batchSize;
    }

    /** Restarts the stream at batch {@code index} of {@code epoch}. */
    public void seek(long epoch, int index) {
        for (Future<Batch> f : queue) f.cancel(true);
        queue.clear();
        nextEpoch = epoch;
        nextIndex = index;
        while (nextIndex >= batchesPerEpoch()) {
            nextIndex -= batchesPerEpoch();
            nextEpoch++;
        }
    }

    /** The next batch in order; a decoding error surfaces here with the image's source. */
    public Batch next() throws IOException {
        while (queue.size() < prefetch) submitNext();
        try {
            return queue.poll().get();
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof IOException io) throw io;
            if (c instanceof RuntimeException re) throw re;
            throw new IOException(c);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while loading data");
        }
    }

    private void submitNext() {
        if (orderEpoch != nextEpoch) {
            order = sampler.epoch(nextEpoch);
            orderEpoch = nextEpoch;
        }
        final int[] ids = java.util.Arrays.copyOfRange(order, nextIndex * batchSize, (nextIndex + 1) * batchSize);
        final long epoch = nextEpoch;
        final int index = nextIndex;
        queue.add(pool.submit(() -> assemble(ids, epoch, index)));
        if (++nextIndex >= batchesPerEpoch()) {
            nextIndex = 0;
            nextEpoch++;
        }
    }

    private Batch assemble(int[] ids, long epoch, int index) throws IOException {
        int per = data.channels() * data.imageSize() * data.imageSize();
        float[] x = new float[ids.length * per];
        long[] y = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            boolean f = flip && coin(flipSeed, epoch, ids[i]);
            data.read(ids[i], f, mix(flipSeed ^ 0x5DEECE66DL, epoch, ids[i]), x, i * per);
            y[i] = data.label(ids[i]);
        }
        return new Batch(x, y, epoch, index);
    }

    /** A fair coin fixed by (seed, epoch, image). */
    static boolean coin(long seed, long epoch, int image) {
        return (mix(seed, epoch, image) & 1) == 1;
    }

    /** A 64-bit hash of (seed, epoch, image): the SplitMix64 finaliser over their combination. */
    static long mix(long seed, long epoch, int image) {
        long z = seed * 0x9E3779B97F4A7C15L + epoch * 0xC2B2AE3D27D4EB4FL + image * 0x165667B19E3779F9L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    @Override
    public void close() {
        pool.shutdownNow();
    }
}
