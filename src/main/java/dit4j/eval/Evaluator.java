package dit4j.eval;

import dit4j.io.Npz;
import dit4j.runtime.Step;
import dit4j.runtime.Tensors;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * FID, sFID, Inception Score and precision/recall of a sample set against a reference set, in
 * one streaming pass over each (the ADM evaluator's metrics; FID also as pytorch-fid's
 * {@code --dims}). Images are read a batch at a time; what is kept per image is its 2048-d pool
 * feature (for precision/recall and IS); the Gaussian statistics are accumulated as it goes.
 */
public final class Evaluator {
    private Evaluator() {}

    /**
     * @param dims features of the FID: 2048 (pool3, the standard), or pytorch-fid's 64, 192, 768
     * @param precisionRecall compute precision/recall (keeps N x 2048 floats per set)
     */
    public record Options(int batchSize, InceptionV3.Resize resize, int dims, boolean precisionRecall) {
        public Options {
            if (batchSize < 1) throw new IllegalArgumentException("batch size must be positive, got " + batchSize);
            if (dims != 2048 && dims != 64 && dims != 192 && dims != 768) throw new IllegalArgumentException("--dims must be 64, 192, 768 or 2048, got " + dims);
        }

        public static Options defaults() {
            return new Options(50, InceptionV3.Resize.PYTORCH, 2048, true);
        }
    }

    /** Progress: images done of a set. */
    public interface Listener {
        void progress(String set, long done, long total);

        Listener NONE = (s, d, t) -> {};
    }

    /** What one set gives: its FID and sFID statistics, and (with images) pool features. */
    public record Activations(long count, Frechet.Stats fid, Frechet.Stats spatial, Tensor pool3) {}

    /** Null fields were not computed (e.g. precision/recall against a statistics-only reference). */
    public record Result(Double fid, Double sfid, Double inceptionScore, Double inceptionScoreStd, Double precision, Double recall,
            long samples, long reference, int dims, String resize) {
        public Map<String, Object> toMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("fid", fid);
            m.put("sfid", sfid);
            m.put("inception_score", inceptionScore);
            m.put("inception_score_std", inceptionScoreStd);
            m.put("precision", precision);
            m.put("recall", recall);
            m.put("samples", samples);
            m.put("reference", reference);
            m.put("dims", dims);
            m.put("resize", resize);
            return m;
        }
    }

    public static Result evaluate(InceptionV3 net, ImageSet samples, ImageSet ref, Options o, Listener l) throws IOException {
        if (!samples.hasImages()) {
            throw new IllegalArgumentException(samples.path() + ": holds statistics only (mu/sigma, no arr_0 images); the sample set must be images (an .npz batch or a folder)");
        }
        Activations a = activations(net, samples, o, "samples", l);
        return compare(net, a, activations(net, ref, o, "reference", l), o);
    }

    /** The metrics from the activations of the samples ({@code a}, with images) and the reference. */
    public static Result compare(InceptionV3 net, Activations a, Activations b, Options o) {
        if (a.pool3() == null) throw new IllegalArgumentException("the sample set has no images");
        try (Step s = Step.open(); NoGradGuard g = new NoGradGuard()) {
            // Each metric in its own scope: only Java values leave it, so the float64 matrices of one
            // are freed before the next starts.
            double[] fid = new double[1], sfid = {Double.NaN};
            Step.nested(() -> { fid[0] = Frechet.distance(a.fid(), b.fid()); });
            boolean spatial = a.spatial() != null && b.spatial() != null;
            if (spatial) Step.nested(() -> { sfid[0] = Frechet.distance(a.spatial(), b.spatial()); });
            Metrics.Score[] is = new Metrics.Score[1];
            Step.nested(() -> { is[0] = Metrics.inceptionScore(torch.softmax(net.logits(a.pool3(), false), 1), Metrics.IS_SPLIT); });
            Double precision = null, recall = null;
            if (o.precisionRecall() && b.pool3() != null) {
                Metrics.PrecisionRecall[] pr = new Metrics.PrecisionRecall[1];
                Step.nested(() -> { pr[0] = Metrics.precisionRecall(b.pool3(), a.pool3(), Metrics.PR_BLOCK); });
                precision = pr[0].precision();
                recall = pr[0].recall();
            }
            return new Result(fid[0], spatial ? sfid[0] : null, is[0].mean(), is[0].std(), precision, recall, a.count(), b.count(), o.dims(), o.resize().name().toLowerCase());
        }
    }

    /** Runs the network over a set (statistics from the file are used when present, as ADM's read_statistics does). */
    public static Activations activations(InceptionV3 net, ImageSet set, Options o, String name, Listener l) throws IOException {
        long n = set.count();
        Frechet.Stats fileFid = o.dims() == 2048 ? set.poolStats() : null;
        if (n == 0) {
            if (fileFid == null) throw new IllegalArgumentException(set.path() + ": its statistics are 2048-d pool features; --dims " + o.dims() + " needs images");
            return new Activations(0, fileFid, set.spatialStats(), null);
        }
        Tensor pool3 = Tensors.empty(ScalarType.Float, n, 2048);
        Moments fid = new Moments(o.dims()), spatial = new Moments(2023);
        long done = 0;
        l.progress(name, 0, n);
        while (true) {
            try (Step s = Step.open(); InferenceMode g = new InferenceMode()) {
                Tensor u8 = set.next(o.batchSize());
                if (u8 == null) break;
                InceptionV3.Features f = net.featuresUint8(u8, o.resize());
                long b = u8.size(0);
                pool3.narrow(0, done, b).copy_(f.pool3());
                fid.add(switch (o.dims()) {
                    case 64 -> f.pool64();
                    case 192 -> f.pool192();
                    case 768 -> f.pool768();
                    default -> f.pool3();
                });
                spatial.add(f.spatial());
                done += b;
            }
            l.progress(name, done, n);
        }
        if (done != n) throw new IllegalStateException(set.path() + ": read " + done + " of " + n + " images");
        Frechet.Stats fs = fileFid != null ? fileFid : fid.stats(set.path());
        Frechet.Stats ss = set.spatialStats() != null ? set.spatialStats() : spatial.stats(set.path());
        return new Activations(n, fs, ss, pool3);
    }

    /** Writes pytorch-fid-style statistics ({@code mu}, {@code sigma}, float64) plus ADM's {@code mu_s}, {@code sigma_s}. */
    public static void saveStats(Path file, Activations a) throws IOException {
        Map<String, Npz.Array> m = new LinkedHashMap<>();
        put(m, "mu", a.fid().mu());
        put(m, "sigma", a.fid().sigma());
        if (a.spatial() != null) {
            put(m, "mu_s", a.spatial().mu());
            put(m, "sigma_s", a.spatial().sigma());
        }
        Npz.write(file, m);
    }

    private static void put(Map<String, Npz.Array> m, String key, Tensor t) {
        m.put(key, Npz.Array.float64(Tensors.toDoubles(t), Tensors.shape(t)));
    }

    /**
     * Streaming mean and covariance in float64. Values are shifted by the first batch's mean before
     * the sums, so the {@code sum - n mu mu^T} step does not cancel away precision.
     */
    static final class Moments {
        private final Tensor sum, outer, shift;
        private long n;

        // Created outside the per-batch steps so they outlive them; updated in place.
        Moments(int dims) {
            sum = torch.zeros(new long[] {dims}, Tensors.options(ScalarType.Double));
            outer = torch.zeros(new long[] {dims, dims}, Tensors.options(ScalarType.Double));
            shift = torch.zeros(new long[] {dims}, Tensors.options(ScalarType.Double));
        }

        void add(Tensor x) {
            Tensor d = x.to(ScalarType.Double);
            if (n == 0) shift.copy_(d.mean(new long[] {0}, false, new ScalarTypeOptional()));
            Tensor c = d.sub(shift);
            sum.add_(c.sum(new long[] {0}, false, new ScalarTypeOptional()));
            outer.add_(c.t().matmul(c));
            n += x.size(0);
        }

        /** The mean and covariance, computed in place into the sums (so call once): no 2048x2048 copies outlive it. */
        Frechet.Stats stats(Path where) {
            if (n < 2) throw new IllegalArgumentException(where + ": statistics need at least 2 images, got " + n);
            Step.nested(() -> {
                Tensor m = sum.div(new Scalar((double) n));
                outer.sub_(torch.outer(sum, m)).div_(new Scalar((double) (n - 1)));
            });
            sum.div_(new Scalar((double) n)).add_(shift);
            return new Frechet.Stats(sum, outer);
        }
    }
}
