package dit4j.sample;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dit4j.model.DiT;
import dit4j.model.DiTConfig;
import dit4j.runtime.Step;
import dit4j.runtime.Tensors;
import java.util.Arrays;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;

/**
 * What sharded sampling relies on: in float32 a DiT computes a row of a batch bit for bit the same
 * whatever the other rows hold and wherever the row sits, as long as the batch has the same
 * number of rows (so ShardedSampling pads every batch to --batch-size). Another batch size may
 * change the last bits (measured: sizes 1-3 differ from 7 by ~1e-6 here; 4-16 agree).
 */
class RowIndependenceTest {

    @Test
    void aRowGivesTheSameBitsWhateverItsNeighboursAndPlace() {
        DiT model = new DiT(DiTConfig.named("DiT-S/2", 16, 4, 10, true, 0.1));
        Generator g = torch.createCPUGenerator(3);
        try (NoGradGuard ng = new NoGradGuard()) {
            // Random weights everywhere (a new DiT zeroes its output layer, which would make every output 0).
            for (Tensor p : model.parameters().get()) p.copy_(randn(g, p.sizes().vec().get()).mul(new Scalar(0.05)));
        }
        int n = 7;
        try (Step s = Step.open(); InferenceMode guard = new InferenceMode()) {
            Tensor x = randn(g, n, 4, 16, 16);
            long[] t = {999, 10, 500, 0, 250, 999, 1}, y = {0, 3, 10, 9, 1, 1, 10};
            float[] whole = forward(model, x, t, y);
            int per = whole.length / n;

            Tensor other = x.clone();
            other.narrow(0, 1, 6).copy_(randn(g, 6, 4, 16, 16));
            float[] withOthers = forward(model, other, new long[] {999, 3, 3, 3, 3, 3, 3}, new long[] {0, 5, 5, 5, 5, 5, 5});
            assertArrayEquals(row(whole, 0, per), row(withOthers, 0, per), "row 0 beside other rows");

            long[] tr = t.clone(), yr = y.clone();
            reverse(tr);
            reverse(yr);
            float[] back = forward(model, torch.flip(x, new long[] {0}), tr, yr);
            for (int i = 0; i < n; i++) assertArrayEquals(row(whole, i, per), row(back, n - 1 - i, per), "row " + i + " at place " + (n - 1 - i));

            // Other batch sizes: close, not promised to be equal.
            for (int m : new int[] {1, 2, 3, 4, 16}) {
                Tensor xm = randn(g, m, 4, 16, 16);
                xm.narrow(0, 0, 1).copy_(x.narrow(0, 0, 1));
                long[] tm = new long[m], ym = new long[m];
                Arrays.fill(tm, 999);
                float[] r = forward(model, xm, tm, ym);
                double max = 0;
                for (int k = 0; k < per; k++) max = Math.max(max, Math.abs(r[k] - whole[k]));
                System.out.printf("batch of %d vs 7: row 0 differs by at most %.2g%n", m, max);
                assertTrue(max < 1e-4, "batch of " + m + ": " + max);
            }
        }
    }

    private static float[] forward(DiT model, Tensor x, long[] t, long[] y) {
        return Tensors.toFloats(model.forward(x, Tensors.longs(t), Tensors.longs(y)).contiguous());
    }

    private static Tensor randn(Generator g, long... shape) {
        return torch.randn(shape, new GeneratorOptional(g), new TensorOptions(ScalarType.Float));
    }

    private static float[] row(float[] a, int i, int per) {
        return Arrays.copyOfRange(a, i * per, (i + 1) * per);
    }

    private static void reverse(long[] a) {
        for (int i = 0, j = a.length - 1; i < j; i++, j--) {
            long v = a[i];
            a[i] = a[j];
            a[j] = v;
        }
    }
}
