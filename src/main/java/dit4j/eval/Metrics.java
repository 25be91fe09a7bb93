package dit4j.eval;

import dit4j.runtime.Step;
import dit4j.runtime.Tensors;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/** Inception Score and improved precision/recall as the ADM evaluator (openai/guided-diffusion evaluations/evaluator.py) computes them. */
public final class Metrics {
    private Metrics() {}

    public static final int IS_SPLIT = 5000;
    public static final int PR_BLOCK = 10000;
    /**
     * Columns of a distance block: ADM's 10,000 x 10,000 blocks (400 MB, and as much again for the
     * running nearest-neighbour merge) set the peak memory of a 10,000-image evaluation; the same
     * rows against a quarter of the columns at a time give the same distances and neighbours.
     */
    static final int PR_COLUMNS = 2500;
    public static final int PR_K = 3;

    /** Mean and standard deviation (numpy's, ddof 0) over splits. */
    public record Score(double mean, double std, int splits) {}

    /**
     * Inception Score of class probabilities [N,1008]: splits of {@code split} consecutive images
     * (the last one shorter, as ADM slices; fewer images than a split give one split), each
     * {@code exp(mean_i KL(p_i || mean p))}, in float64. A zero probability contributes 0 (0 log 0).
     */
    public static Score inceptionScore(Tensor probs, int split) {
        long n = probs.size(0);
        if (n == 0) throw new IllegalArgumentException("inception score of no images");
        java.util.List<Double> scores = new java.util.ArrayList<>();
        for (long i = 0; i < n; i += split) {
            long len = Math.min(split, n - i);
            long start = i;
            double s = Step.nested(() -> {
                Tensor part = probs.narrow(0, start, len).to(ScalarType.Double);
                Tensor mean = part.mean(new long[] {0}, true, new ScalarTypeOptional());
                Tensor kl = torch.xlogy(part, part).sub(torch.xlogy(part, mean));
                return Tensors.doubles(new double[] {Math.exp(kl.sum(new long[] {1}, false, new ScalarTypeOptional()).mean().item_double())}, 1);
            }).item_double();
            scores.add(s);
        }
        double mean = scores.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
        double var = scores.stream().mapToDouble(v -> (v - mean) * (v - mean)).average().orElse(Double.NaN);
        return new Score(mean, Math.sqrt(var), scores.size());
    }

    /** Precision (samples inside the reference manifold) and recall (references inside the sample manifold). */
    public record PrecisionRecall(double precision, double recall) {}

    /**
     * ADM's ManifoldEstimator with k=3: each point's radius is the squared Euclidean distance to
     * its 3rd nearest other point of its own set (the 4th smallest distance, the point itself
     * included); a point of one set is covered if it is within the radius of some point of the
     * other. Distances {@code max(|u|^2 - 2 u.v + |v|^2, 0)} in float32 (ADM tries float16 first),
     * in blocks of {@code block} rows against at most {@link #PR_COLUMNS} columns.
     */
    public static PrecisionRecall precisionRecall(Tensor ref, Tensor samples, int block) {
        Tensor r = ref.to(ScalarType.Float).contiguous(), s = samples.to(ScalarType.Float).contiguous();
        Tensor radiiRef = radii(r, PR_K, block), radiiSamples = radii(s, PR_K, block);
        boolean[] sampleIn = new boolean[(int) s.size(0)], refIn = new boolean[(int) r.size(0)];
        for (long i = 0; i < s.size(0); i += block) {
            long li = Math.min(block, s.size(0) - i);
            int cols = Math.min(block, PR_COLUMNS);
            for (long j = 0; j < r.size(0); j += cols) {
                long lj = Math.min(cols, r.size(0) - j);
                long i0 = i, j0 = j;
                Step.nested(() -> {
                    Tensor d = distances(s.narrow(0, i0, li), r.narrow(0, j0, lj));
                    // sample k is inside ref j's ball if d[k,j] <= radius_ref[j]; ref j inside sample k's if d[k,j] <= radius_samples[k]
                    Tensor inRef = d.le(radiiRef.narrow(0, j0, lj).view(1, -1)).any(1);
                    Tensor inSample = d.le(radiiSamples.narrow(0, i0, li).view(-1, 1)).any(0);
                    long[] a = Tensors.toLongs(inRef), b = Tensors.toLongs(inSample);
                    for (int k = 0; k < a.length; k++) sampleIn[(int) (i0 + k)] |= a[k] != 0;
                    for (int k = 0; k < b.length; k++) refIn[(int) (j0 + k)] |= b[k] != 0;
                });
            }
        }
        return new PrecisionRecall(fraction(sampleIn), fraction(refIn));
    }

    private static double fraction(boolean[] b) {
        long n = 0;
        for (boolean v : b) if (v) n++;
        return (double) n / b.length;
    }

    /** The k-th nearest other point's squared distance for every row of {@code x} [N,D]. */
    static Tensor radii(Tensor x, int k, int block) {
        long n = x.size(0);
        if (n <= k) throw new IllegalArgumentException("precision/recall need more than " + k + " images per set, got " + n);
        float[] out = new float[(int) n];
        for (long i = 0; i < n; i += block) {
            long li = Math.min(block, n - i), i0 = i;
            Step.nested(() -> {
                Tensor best = null;
                int cols = Math.min(block, PR_COLUMNS);
                for (long j = 0; j < n; j += cols) {
                    long lj = Math.min(cols, n - j), j0 = j;
                    Tensor prev = best;
                    // each chunk's distances are freed before the next: only the k + 1 nearest so far stay
                    best = Step.nested(() -> {
                        Tensor d = distances(x.narrow(0, i0, li), x.narrow(0, j0, lj));
                        Tensor cand = prev == null ? d : torch.cat(new org.bytedeco.pytorch.TensorVector(prev, d), 1);
                        // a tuple's element dies with the tuple: a copy (N x 4) leaves the scope
                        return cand.topk(Math.min(k + 1, cand.size(1)), 1, false, true).get0().clone();
                    });
                }
                float[] v = Tensors.toFloats(best.select(1, k).contiguous());
                System.arraycopy(v, 0, out, (int) i0, v.length);
            });
        }
        return Tensors.floats(out, n);
    }

    static Tensor distances(Tensor u, Tensor v) {
        Tensor nu = u.mul(u).sum(new long[] {1}, true, new ScalarTypeOptional());
        Tensor nv = v.mul(v).sum(new long[] {1}, true, new ScalarTypeOptional()).t();
        // In place on the product (the same roundings as nu - 2 u.v + nv): one block-sized matrix, not four.
        Tensor d = u.matmul(v.t());
        d.mul_(new Scalar(-2.0));
        d.add_(nu);
        d.add_(nv);
        d.clamp_min_(new Scalar(0.0));
        return d;
    }
}
