package dit4j.runtime;

import java.util.Arrays;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/** Conversions between Java arrays and tensors, and small conveniences over the binding. */
public final class Tensors {
    private Tensors() {}

    public static final Device CPU = new Device("cpu");

    public static TensorOptions options(ScalarType dtype) {
        return new TensorOptions(dtype);
    }

    public static Tensor empty(ScalarType dtype, long... shape) {
        return torch.empty(shape, options(dtype), null);
    }

    public static Tensor floats(float[] data, long... shape) {
        check(data.length, shape);
        Tensor t = empty(ScalarType.Float, shape);
        t.data_ptr_float().put(data);
        return t;
    }

    public static Tensor doubles(double[] data, long... shape) {
        check(data.length, shape);
        Tensor t = empty(ScalarType.Double, shape);
        t.data_ptr_double().put(data);
        return t;
    }

    public static Tensor longs(long[] data, long... shape) {
        check(data.length, shape);
        Tensor t = empty(ScalarType.Long, shape);
        t.data_ptr_long().put(data);
        return t;
    }

    public static Tensor longs(long... data) {
        return longs(data, data.length);
    }

    /** A tensor of the given dtype and shape filled from raw little-endian bytes. */
    public static Tensor fromBytes(ScalarType dtype, long[] shape, byte[] data) {
        return fromBytes(dtype, shape, data, data.length);
    }

    /** The same from the first {@code length} bytes of {@code data} (a reused buffer). */
    public static Tensor fromBytes(ScalarType dtype, long[] shape, byte[] data, int length) {
        Tensor t = empty(dtype, shape);
        long n = t.nbytes();
        if (n != length) {
            throw new IllegalArgumentException("expected " + n + " bytes for " + dtype + shapeString(shape) + ", got " + length);
        }
        new BytePointer(t.data_ptr()).capacity(n).put(data, 0, length);
        return t;
    }

    /** The raw little-endian bytes of a tensor (made contiguous on the CPU first). */
    public static byte[] toBytes(Tensor t) {
        Tensor c = cpu(t).contiguous();
        byte[] out = new byte[Math.toIntExact(c.nbytes())];
        new BytePointer(c.data_ptr()).capacity(out.length).get(out);
        return out;
    }

    public static float[] toFloats(Tensor t) {
        Tensor c = cpu(t).to(ScalarType.Float).contiguous();
        float[] out = new float[Math.toIntExact(c.numel())];
        c.data_ptr_float().get(out);
        return out;
    }

    public static double[] toDoubles(Tensor t) {
        Tensor c = cpu(t).to(ScalarType.Double).contiguous();
        double[] out = new double[Math.toIntExact(c.numel())];
        c.data_ptr_double().get(out);
        return out;
    }

    public static long[] toLongs(Tensor t) {
        Tensor c = cpu(t).to(ScalarType.Long).contiguous();
        long[] out = new long[Math.toIntExact(c.numel())];
        c.data_ptr_long().get(out);
        return out;
    }

    public static Tensor cpu(Tensor t) {
        return t.device().is_cpu() ? t : t.to(CPU, t.scalar_type());
    }

    public static long[] shape(Tensor t) {
        return t.sizes().vec().get();
    }

    public static String shapeString(long[] shape) {
        return Arrays.toString(shape);
    }

    public static String shapeString(Tensor t) {
        return shapeString(shape(t));
    }

    public static boolean sameShape(Tensor a, Tensor b) {
        return Arrays.equals(shape(a), shape(b));
    }

    public static ScalarType dtype(Tensor t) {
        return t.scalar_type().intern();
    }

    private static void check(int length, long[] shape) {
        long n = 1;
        for (long s : shape) n *= s;
        if (n != length) {
            throw new IllegalArgumentException("data has " + length + " values, shape " + shapeString(shape) + " needs " + n);
        }
    }
}
