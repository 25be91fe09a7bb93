package dit4j.dist;

import dit4j.runtime.Step;
import dit4j.runtime.Tensors;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * What data-parallel training needs from a {@link DistGroup}, as DDP does it: the same start on
 * every rank (a broadcast from rank 0), gradients averaged after each backward (flattened into
 * buckets of about 25 MB, summed over ranks, divided by the world size, copied back), and a
 * check that the replicas still agree.
 *
 * <p>The averaging runs after backward rather than overlapped with it: c10d's Reducer hooks are
 * reported to misbehave under JavaCPP, and on CPU the all-reduce is a small part of a step.
 * Create outside any {@link Step}: the buckets and their views live as long as the training.
 */
public final class DataParallel {
    public static final long DEFAULT_BUCKET_BYTES = 25L << 20;

    private final DistGroup group;
    private final List<Tensor> params;
    private final List<Bucket> buckets = new ArrayList<>();
    private final Scalar world;
    private long steps;
    private long commNanos;

    /** A flat buffer and, per parameter it holds, a view of its slot shaped like the parameter. */
    private record Bucket(Tensor flat, List<Tensor> params, List<Tensor> slots) {}

    /** @param params the model's parameters in order; only those that require a gradient are averaged */
    public DataParallel(DistGroup group, List<Tensor> params, long bucketBytes) {
        this.group = group;
        this.world = new Scalar((double) group.worldSize());
        this.params = new ArrayList<>();
        for (Tensor p : params) if (p.requires_grad()) this.params.add(p);
        List<Tensor> pending = new ArrayList<>();
        long bytes = 0;
        for (Tensor p : this.params) {
            pending.add(p);
            bytes += p.numel() * 4;
            if (bytes >= bucketBytes) {
                buckets.add(bucket(pending));
                pending = new ArrayList<>();
                bytes = 0;
            }
        }
        if (!pending.isEmpty()) buckets.add(bucket(pending));
    }

    public DataParallel(DistGroup group, List<Tensor> params) {
        this(group, params, DEFAULT_BUCKET_BYTES);
    }

    private static Bucket bucket(List<Tensor> ps) {
        long n = 0;
        for (Tensor p : ps) n += p.numel();
        // On the parameters' device: NCCL reduces CUDA buffers, and the copies in and out stay there.
        Tensor flat = torch.zeros(new long[] {n}, new TensorOptions(ps.get(0).device()).dtype(new ScalarTypeOptional(ps.get(0).scalar_type())));
        List<Tensor> slots = new ArrayList<>();
        long off = 0;
        for (Tensor p : ps) {
            slots.add(flat.narrow(0, off, p.numel()).view(p.sizes().vec().get()));
            off += p.numel();
        }
        return new Bucket(flat, List.copyOf(ps), slots);
    }

    public DistGroup group() {
        return group;
    }

    public int buckets() {
        return buckets.size();
    }

    /** Copies rank 0's values into these tensors on every rank (parameters, buffers, an EMA copy). */
    public void broadcastFromRank0(List<Tensor> tensors, String what) {
        try (NoGradGuard g = new NoGradGuard()) {
            for (Tensor t : tensors) {
                if (!t.is_contiguous()) throw new IllegalStateException(what + ": a non-contiguous tensor cannot be broadcast in place");
                group.broadcastFromRank0(t, "broadcasting " + what + " from rank 0");
            }
        }
    }

    /** Replaces every gradient by its mean over the ranks. Call after backward, before clipping and the optimizer. */
    public void averageGradients() {
        long t0 = System.nanoTime();
        try (NoGradGuard g = new NoGradGuard()) {
            for (Bucket b : buckets) {
                Step.nested(() -> {
                    for (int i = 0; i < b.params.size(); i++) {
                        Tensor grad = b.params.get(i).grad();
                        if (!grad.defined()) {
                            throw new IllegalStateException("rank " + group.rank() + ": a parameter of shape " + b.params.get(i).sizes().vec()
                                    + " has no gradient: data-parallel training needs every trainable parameter used in each step");
                        }
                        b.slots.get(i).copy_(grad);
                    }
                    group.allReduceSum(b.flat, "all-reduce of the gradients (step " + (steps + 1) + ")");
                    b.flat.div_(world);
                    for (int i = 0; i < b.params.size(); i++) b.params.get(i).grad().copy_(b.slots.get(i));
                });
            }
        }
        steps++;
        commNanos += System.nanoTime() - t0;
    }

    /** Wall time spent in {@link #averageGradients} so far (copies and all-reduce), and its call count. */
    public long gradientNanos() {
        return commNanos;
    }

    public long gradientSteps() {
        return steps;
    }

    /**
     * Compares a digest of these tensors (float64 sum and sum of squares) across ranks and fails
     * naming the ranks that differ from rank 0. Returns rank 0's digest.
     */
    public String checkReplicas(List<Tensor> tensors, long step) {
        double[] mine = digest(tensors);
        int w = group.worldSize();
        double[] all = new double[2 * w];
        all[2 * group.rank()] = mine[0];
        all[2 * group.rank() + 1] = mine[1];
        double[] summed = sumAcross(all, "comparing parameter digests (step " + step + ")");
        List<Integer> differ = new ArrayList<>();
        for (int r = 1; r < w; r++) if (!close(summed[2 * r], summed[0]) || !close(summed[2 * r + 1], summed[1])) differ.add(r);
        if (!differ.isEmpty()) {
            int r = differ.get(0);
            throw new DistributedException(String.format("replicas diverged at step %d: rank%s %s differ%s from rank 0 (parameter sum %.17g vs %.17g, sum of squares %.17g vs %.17g)",
                    step, differ.size() > 1 ? "s" : "", differ.size() > 1 ? differ.toString() : String.valueOf(r), differ.size() > 1 ? "" : "s",
                    summed[2 * r], summed[0], summed[2 * r + 1], summed[1]));
        }
        return String.format("%.17g/%.17g", summed[0], summed[1]);
    }

    /**
     * Replicas hold bitwise-equal weights, but libtorch's float64 sums may add in another order on
     * a machine with other cores or vector units; 1e-12 relative is far below any real divergence
     * (which grows step by step) and far above that reordering.
     */
    static boolean close(double a, double b) {
        return a == b || Math.abs(a - b) <= 1e-12 * Math.max(Math.abs(a), Math.abs(b));
    }

    static double[] digest(List<Tensor> tensors) {
        double sum = 0, sq = 0;
        try (Step s = Step.open(); NoGradGuard g = new NoGradGuard()) {
            for (Tensor t : tensors) {
                Tensor d = t.to(ScalarType.Double);
                sum += d.sum().item_double();
                sq += d.mul(d).sum().item_double();
            }
        }
        return new double[] {sum, sq};
    }

    /** Each flag true on every rank when it is true on any (a stop request, a time budget running out), in one all-reduce. */
    public boolean[] anyAcross(String what, boolean... flags) {
        double[] v = new double[flags.length];
        for (int i = 0; i < v.length; i++) v[i] = flags[i] ? 1 : 0;
        double[] m = maxAcross(v, what);
        boolean[] out = new boolean[flags.length];
        for (int i = 0; i < out.length; i++) out[i] = m[i] > 0;
        return out;
    }

    /** The element-wise mean over the ranks (the logged loss). */
    public double[] meanAcross(double[] v, String what) {
        double[] s = sumAcross(v.clone(), what);
        for (int i = 0; i < s.length; i++) s[i] /= group.worldSize();
        return s;
    }

    /** The smallest value over the ranks (a step count fitted to a time budget). */
    public long minAcross(long v, String what) {
        return (long) -maxAcross(new double[] {-v}, what)[0];
    }

    private double[] sumAcross(double[] v, String what) {
        try (Step s = Step.open()) {
            Tensor t = Tensors.doubles(v, v.length);
            group.allReduceSum(t, what);
            return Tensors.toDoubles(t);
        }
    }

    private double[] maxAcross(double[] v, String what) {
        try (Step s = Step.open()) {
            Tensor t = Tensors.doubles(v, v.length);
            group.allReduceMax(t, what);
            return Tensors.toDoubles(t);
        }
    }
}
