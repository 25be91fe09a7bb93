package dit4j.runtime;

import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * Elementwise arithmetic as functions, for static import, so that a formula reads as one line
 * that can be checked against the Python it comes from:
 * {@code add(mul(x0, sqrt(abarPrev)), mul(sqrt(sub(oneMinus(abarPrev), square(sigma))), eps))}.
 */
public final class TensorMath {
    private TensorMath() {}

    public static Tensor add(Tensor a, Tensor b) {
        return a.add(b);
    }

    public static Tensor add(Tensor a, double b) {
        return a.add(new Scalar(b));
    }

    public static Tensor sub(Tensor a, Tensor b) {
        return a.sub(b);
    }

    public static Tensor sub(Tensor a, double b) {
        return a.sub(new Scalar(b));
    }

    public static Tensor mul(Tensor a, Tensor b) {
        return a.mul(b);
    }

    public static Tensor mul(Tensor a, Tensor b, Tensor c) {
        return a.mul(b).mul(c);
    }

    public static Tensor mul(double a, Tensor b) {
        return b.mul(new Scalar(a));
    }

    public static Tensor div(Tensor a, Tensor b) {
        return a.div(b);
    }

    public static Tensor div(Tensor a, double b) {
        return a.div(new Scalar(b));
    }

    /** {@code 1 - a}. */
    public static Tensor oneMinus(Tensor a) {
        return a.neg().add(new Scalar(1.0));
    }

    public static Tensor square(Tensor a) {
        return a.mul(a);
    }

    public static Tensor sqrt(Tensor a) {
        return torch.sqrt(a);
    }

    public static Tensor exp(Tensor a) {
        return torch.exp(a);
    }

    public static Tensor log(Tensor a) {
        return torch.log(a);
    }

    public static Tensor tanh(Tensor a) {
        return torch.tanh(a);
    }

    public static Tensor clamp(Tensor a, double min, double max) {
        return torch.clamp(a, new ScalarOptional(new Scalar(min)), new ScalarOptional(new Scalar(max)));
    }

    public static Tensor clampMin(Tensor a, double min) {
        return torch.clamp(a, new ScalarOptional(new Scalar(min)));
    }

    /** A libtorch scalar, for the comparisons ({@code t.eq(scalar(0))}) and calls that take one. */
    public static Scalar scalar(double v) {
        return new Scalar(v);
    }

    /** {@code torch.cat(tensors, dim)}. */
    public static Tensor cat(long dim, Tensor... tensors) {
        return torch.cat(new TensorVector(tensors), dim);
    }

    /**
     * {@code t.chunk(n, dim)} as owned handles. The binding returns vector elements by reference,
     * so a handle taken from a vector dies with the vector; these share storage but not that fate.
     */
    public static Tensor[] chunk(Tensor t, int n, long dim) {
        return owned(t.chunk(n, dim));
    }

    /** {@code t.split(size, dim)} as owned handles. */
    public static Tensor[] split(Tensor t, long size, long dim) {
        return owned(t.split(size, dim));
    }

    private static Tensor[] owned(TensorVector v) {
        Tensor[] out = new Tensor[(int) v.size()];
        for (int i = 0; i < out.length; i++) out[i] = new Tensor(v.get(i));
        return out;
    }
}
