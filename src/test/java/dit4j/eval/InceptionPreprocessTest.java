package dit4j.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dit4j.runtime.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;

/** TensorFlow 1's resize_bilinear (no half-pixel centres) as the ADM evaluator's graph resizes, on cases worked by hand. */
class InceptionPreprocessTest {

    @Test
    void tf1BilinearSamplesAtDstTimesScale() {
        // Up 2 -> 4: sources 0, 0.5, 1, 1.5 (the last clamps its upper neighbour to the edge).
        Tensor up = InceptionV3.tf1Bilinear(Tensors.floats(new float[] {0, 10}, 1, 1, 1, 2), 1, 4);
        assertArrayEquals(new float[] {0, 5, 10, 10}, Tensors.toFloats(up));
        // Down 4 -> 2: sources 0 and 2, no averaging (unlike antialiased resizes).
        Tensor down = InceptionV3.tf1Bilinear(Tensors.floats(new float[] {1, 2, 3, 4}, 1, 1, 4, 1), 2, 1);
        assertArrayEquals(new float[] {1, 3}, Tensors.toFloats(down));
    }

    @Test
    void tf1InputIsCentredOn128() {
        byte[] px = new byte[2 * 2 * 3];
        java.util.Arrays.fill(px, (byte) 128);
        px[0] = (byte) 255;
        Tensor x = InceptionV3.preprocessUint8(Tensors.fromBytes(ScalarType.Byte, new long[] {1, 2, 2, 3}, px), InceptionV3.Resize.TF1);
        assertArrayEquals(new long[] {1, 3, 299, 299}, Tensors.shape(x));
        float[] v = Tensors.toFloats(x);
        assertEquals(127f / 128f, v[0], 1e-6); // pixel (0,0), red: 255
        assertEquals(0f, v[299 * 299], 0f); // green plane: 128 everywhere
    }
}
