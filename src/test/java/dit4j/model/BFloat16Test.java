package dit4j.model;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dit4j.io.StateDicts;
import dit4j.runtime.Precision;
import dit4j.runtime.Tensors;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;

/** bfloat16 autocast stays within bf16 rounding of the float32 model; inference mode changes nothing. */
class BFloat16Test {
    private static Tensor randn(org.bytedeco.pytorch.Generator g, long... shape) {
        return torch.randn(shape, new GeneratorOptional(g), new TensorOptions(ScalarType.Float));
    }

    private static double relativeError(Tensor got, Tensor want) {
        return got.to(ScalarType.Float).sub(want).norm().item_double() / want.norm().item_double();
    }

    /** A model in eval mode whose zero-initialised adaLN and output layers are perturbed, so every layer matters. */
    private static DiT perturbed(DiTConfig c, org.bytedeco.pytorch.Generator g) {
        DiT model = DiT.create(c, g);
        try (NoGradGuard guard = new NoGradGuard()) {
            for (Tensor p : StateDicts.of(model).values()) if (p.dim() > 1) p.add_(randn(g, Tensors.shape(p)).mul(new Scalar(0.02)));
        }
        model.eval();
        return model;
    }

    @Test
    void bf16AttentionMatchesFusedFloat32Attention() {
        var g = torch.createCPUGenerator(3);
        // Peaked scores (scale 3) so that the softmax is far from uniform.
        Tensor q = randn(g, 2, 3, 64, 32).mul(new Scalar(3)), k = randn(g, 2, 3, 64, 32), v = randn(g, 2, 3, 64, 32);
        Tensor want = Attention.attend(q, k, v);
        Tensor got;
        try (Precision.Region r = Precision.BFLOAT16.autocast()) {
            got = Attention.attend(q, k, v);
        }
        assertTrue(Tensors.dtype(got) == ScalarType.BFloat16, "bf16 path taken");
        double err = relativeError(got, want);
        assertTrue(err < 0.02, "relative error " + err);
    }

    @Test
    void inferenceModeForwardEqualsTheAutogradForward() {
        // Sampling runs in inference mode, where the MLP applies GELU in place.
        DiTConfig c = new DiTConfig(8, 2, 4, 64, 2, 2, 4.0, 0.1, 10, true);
        var g = torch.createCPUGenerator(5);
        DiT model = perturbed(c, g);
        Tensor x = randn(g, 2, 4, 8, 8), t = Tensors.longs(3, 700), y = Tensors.longs(1, 10);
        Tensor want = model.forward(x, t, y), got;
        try (org.bytedeco.pytorch.InferenceMode guard = new org.bytedeco.pytorch.InferenceMode()) {
            got = model.forward(x, t, y).clone();
        }
        assertTrue(torch.equal(got, want), "max difference " + got.sub(want).abs().max().item_double());
    }

    @Test
    void bf16ForwardFollowsFloat32() {
        DiTConfig c = new DiTConfig(16, 2, 4, 96, 3, 3, 4.0, 0.1, 10, true);
        var g = torch.createCPUGenerator(0);
        DiT model = perturbed(c, g);
        Tensor x = randn(g, 4, 4, 16, 16), t = Tensors.longs(0, 250, 500, 999), y = Tensors.longs(1, 2, 3, 10);
        Tensor want = model.forward(x, t, y), got;
        try (Precision.Region r = Precision.BFLOAT16.autocast()) {
            got = model.forward(x, t, y);
        }
        double err = relativeError(got, want);
        assertTrue(err < 0.03, "relative error " + err);
    }
}
