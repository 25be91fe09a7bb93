package dit4j.eval;

import dit4j.runtime.Step;
import dit4j.runtime.Tensors;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.T_TensorTensor_T;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Gaussian statistics of features and the Frechet distance between two of them, as pytorch-fid's
 * {@code calculate_frechet_distance} and ADM's {@code FIDStatistics.frechet_distance} compute it:
 * {@code |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr(sqrtm(S1 S2))}, all in float64.
 *
 * <p>scipy's {@code sqrtm} is a Schur method; only the trace of the root is needed, and for
 * covariances (symmetric positive semi-definite) it equals the sum of the square roots of the
 * eigenvalues of {@code S1^(1/2) S2 S1^(1/2)} (or {@code L^T S2 L} with {@code S1 = L L^T}), a
 * symmetric matrix: libtorch's {@code eigh}/{@code eigvalsh} in float64, stable for singular
 * covariances too.
 */
public final class Frechet {
    private Frechet() {}

    public static final double EPS = 1e-6;

    /** Mean [D] and covariance [D,D], float64 tensors. */
    public record Stats(Tensor mu, Tensor sigma) {
        public long dims() {
            return mu.size(0);
        }
    }

    /** {@code np.mean(x, 0)} and {@code np.cov(x, rowvar=False)} (N-1 normalisation) of features [N,D], in float64. */
    public static Stats stats(Tensor features) {
        if (features.size(0) < 2) throw new IllegalArgumentException("statistics need at least 2 images, got " + features.size(0));
        Tensor x = features.to(ScalarType.Double);
        Tensor mu = x.mean(new long[] {0}, false, new org.bytedeco.pytorch.ScalarTypeOptional());
        Tensor c = x.sub(mu);
        Tensor sigma = c.t().matmul(c).div(new Scalar((double) (x.size(0) - 1)));
        return new Stats(mu, sigma);
    }

    /** The distance; pytorch-fid's retry with {@code EPS} added to both diagonals when the product's root is not finite. */
    public static double distance(Stats a, Stats b) {
        if (a.dims() != b.dims()) throw new IllegalArgumentException("statistics of different dimensions: " + a.dims() + " and " + b.dims());
        Tensor s1 = a.sigma().to(ScalarType.Double), s2 = b.sigma().to(ScalarType.Double);
        Tensor diff = a.mu().to(ScalarType.Double).sub(b.mu().to(ScalarType.Double));
        double tr = traceSqrtProduct(s1, s2);
        if (!Double.isFinite(tr)) {
            Tensor offset = torch.eye(s1.size(0), new org.bytedeco.pytorch.TensorOptions(ScalarType.Double)).mul(new Scalar(EPS));
            tr = traceSqrtProduct(s1.add(offset), s2.add(offset));
        }
        double d2 = diff.dot(diff).item_double();
        return d2 + s1.trace().item_double() + s2.trace().item_double() - 2 * tr;
    }

    /**
     * {@code tr(sqrtm(A B))} for symmetric positive semi-definite A and B. Eigenvalues that are
     * negative by rounding count as zero, as the real part of scipy's complex root does; one whose
     * root would be an imaginary part above 1e-3 is an error, as in pytorch-fid.
     */
    static double traceSqrtProduct(Tensor a, Tensor b) {
        if (!finite(a) || !finite(b)) return Double.NaN;
        // Nested scopes free each D x D float64 temporary (32 MB at D = 2048) as soon as it is used.
        Tensor m = Step.nested(() -> {
            Tensor sa = symmetric(a);
            // A = L L^T when A is positive definite (the usual case with more images than dimensions):
            // L^T B L has the eigenvalues of A B, and Cholesky is ~25x cheaper than an eigendecomposition.
            T_TensorTensor_T chol = torch.linalg_cholesky_ex(sa);
            if (chol.get1().item_long() == 0) {
                Tensor l = chol.get0();
                Tensor lb = Step.nested(() -> l.t().matmul(b));
                return lb.matmul(l);
            }
            T_TensorTensor_T eig = torch.linalg_eigh(sa);
            Tensor w = eig.get0(), v = eig.get1();
            Tensor rootA = Step.nested(() -> v.mul(torch.sqrt(w.clamp_min(new Scalar(0.0)))).matmul(v.t()));
            Tensor ab = Step.nested(() -> rootA.matmul(b));
            return ab.matmul(rootA);
        });
        double[] lambda = Tensors.toDoubles(Step.nested(() -> torch.linalg_eigvalsh(symmetric(m))));
        double tr = 0, scale = 0;
        for (double l : lambda) scale = Math.max(scale, Math.abs(l));
        for (double l : lambda) {
            if (l >= 0) tr += Math.sqrt(l);
            else if (Math.sqrt(-l) > 1e-3 && -l > 1e-10 * scale) throw new ArithmeticException("Imaginary component " + Math.sqrt(-l) + " in the square root of the covariance product");
        }
        return tr;
    }

    private static Tensor symmetric(Tensor m) {
        Tensor s = m.add(m.t());
        s.mul_(new Scalar(0.5)); // in place: one D x D copy, not two
        return s;
    }

    private static boolean finite(Tensor t) {
        return torch.isfinite(t).all().item_bool();
    }
}
