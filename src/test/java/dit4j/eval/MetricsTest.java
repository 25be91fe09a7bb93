package dit4j.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dit4j.runtime.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;

/** Inception Score's split rule, precision/recall on a case checked by hand, the Frechet distance in closed form. */
class MetricsTest {

    static Tensor oneHot(int n, int classes) {
        float[] p = new float[n * classes];
        for (int i = 0; i < n; i++) p[i * classes + i % classes] = 1f;
        return Tensors.floats(p, n, classes);
    }

    @Test
    void inceptionScoreSplitsLikeAdm() {
        // Splits of 2 over 5 images: [0,1], [2,3], [4]. Two distinct one-hot rows score 2, one row scores 1.
        Metrics.Score s = Metrics.inceptionScore(oneHot(5, 8), 2);
        assertEquals(3, s.splits());
        assertEquals(5.0 / 3, s.mean(), 1e-12);
        assertEquals(Math.sqrt(2.0 / 9), s.std(), 1e-12);
        // Fewer images than a split: one split.
        Metrics.Score one = Metrics.inceptionScore(oneHot(3, 8), Metrics.IS_SPLIT);
        assertEquals(1, one.splits());
        assertEquals(3.0, one.mean(), 1e-12);
        assertEquals(0.0, one.std(), 0.0);
        // Identical predictions carry no information: IS 1.
        assertEquals(1.0, Metrics.inceptionScore(Tensors.floats(new float[] {0.25f, 0.75f, 0.25f, 0.75f}, 2, 2), 10).mean(), 1e-9);
    }

    /** Blocks of 10,000 rows take their columns a quarter at a time: the same radii and coverage as one block of all pairs. */
    @Test
    void columnChunksGiveTheDistancesOfOneBlock() {
        org.bytedeco.pytorch.Generator g = org.bytedeco.pytorch.global.torch.createCPUGenerator(4);
        org.bytedeco.pytorch.TensorOptions f32 = new org.bytedeco.pytorch.TensorOptions(org.bytedeco.pytorch.global.torch.ScalarType.Float);
        int n = 2 * Metrics.PR_COLUMNS + 300;
        Tensor ref = org.bytedeco.pytorch.global.torch.randn(new long[] {n, 6}, new org.bytedeco.pytorch.GeneratorOptional(g), f32);
        Tensor samples = org.bytedeco.pytorch.global.torch.randn(new long[] {n, 6}, new org.bytedeco.pytorch.GeneratorOptional(g), f32).mul(new org.bytedeco.pytorch.Scalar(1.3));
        // all pairs at once: the 4th smallest distance of each row (itself included)
        Tensor all = Metrics.distances(ref, ref);
        float[] want = Tensors.toFloats(all.topk(4, 1, false, true).get0().select(1, 3).contiguous());
        float[] got = Tensors.toFloats(Metrics.radii(ref, 3, Metrics.PR_BLOCK));
        org.junit.jupiter.api.Assertions.assertArrayEquals(want, got, 1e-5f);
        Tensor radiiRef = Tensors.floats(want, n);
        Tensor d = Metrics.distances(samples, ref);
        double precision = d.le(radiiRef.view(1, -1)).any(1).to(org.bytedeco.pytorch.global.torch.ScalarType.Double).mean().item_double();
        Metrics.PrecisionRecall pr = Metrics.precisionRecall(ref, samples, Metrics.PR_BLOCK);
        assertEquals(precision, pr.precision(), 1.0 / n);
        org.junit.jupiter.api.Assertions.assertTrue(pr.recall() > 0 && pr.recall() < 1, "recall " + pr.recall());
    }

    @Test
    void precisionRecallOnPointsOfALine() {
        // Reference 0..4: squared radius (3rd nearest other) 9 at the ends, 4 inside. Samples 1 and 2.5
        // fall in reference balls, 10 and 100 do not: precision 1/2. The samples are so spread out
        // that their balls (radius^2 >= 8100) cover every reference point: recall 1.
        Tensor ref = Tensors.floats(new float[] {0, 1, 2, 3, 4}, 5, 1);
        Tensor samples = Tensors.floats(new float[] {10, 2.5f, 100, 1}, 4, 1);
        float[] r = Tensors.toFloats(Metrics.radii(ref, 3, 2));
        assertEquals(9f, r[0]);
        assertEquals(4f, r[2]);
        assertEquals(9f, r[4]);
        for (int block : new int[] {2, 3, Metrics.PR_BLOCK}) {
            Metrics.PrecisionRecall pr = Metrics.precisionRecall(ref, samples, block);
            assertEquals(0.5, pr.precision(), 0.0, "block " + block);
            assertEquals(1.0, pr.recall(), 0.0, "block " + block);
        }
    }

    @Test
    void frechetDistanceInClosedForm() {
        // 1-d: (0 - 1)^2 + 4 + 9 - 2 sqrt(36) = 2.
        Frechet.Stats a = new Frechet.Stats(Tensors.doubles(new double[] {0}, 1), Tensors.doubles(new double[] {4}, 1, 1));
        Frechet.Stats b = new Frechet.Stats(Tensors.doubles(new double[] {1}, 1), Tensors.doubles(new double[] {9}, 1, 1));
        assertEquals(2.0, Frechet.distance(a, b), 1e-12);
        // Singular (rank 1 in 2-d) covariances: the eigh path, sqrt(A B) traced from the nonzero eigenvalue.
        Frechet.Stats s = new Frechet.Stats(Tensors.doubles(new double[] {0, 0}, 2), Tensors.doubles(new double[] {1, 1, 1, 1}, 2, 2));
        assertEquals(0.0, Frechet.distance(s, s), 1e-12);
    }
}
