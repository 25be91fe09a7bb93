package dit4j.diffusion;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dit4j.runtime.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

class DiffusionTest {

    @Test
    void respacingMatchesPython() {
        // Values printed by the official space_timesteps.
        long[] s250 = Respacing.spaceTimesteps(1000, "250");
        assertEquals(250, s250.length);
        assertArrayEquals(new long[] {0, 4, 8, 12, 16, 20, 24, 28, 32, 36}, java.util.Arrays.copyOf(s250, 10));
        assertEquals(999, s250[249]);
        long[] ddim = Respacing.spaceTimesteps(1000, "ddim50");
        assertEquals(50, ddim.length);
        assertEquals(980, ddim[49]);
        assertArrayEquals(new long[] {0, 334, 500, 666, 667, 833, 999}, Respacing.spaceTimesteps(1000, "1,3,3"));
        assertArrayEquals(new long[] {0, 2, 4, 5, 7, 9}, Respacing.spaceTimesteps(10, "6"));
        assertThrows(IllegalArgumentException.class, () -> Respacing.spaceTimesteps(1000, "ddim999"));
        assertThrows(IllegalArgumentException.class, () -> Respacing.spaceTimesteps(10, "20"));
        assertThrows(IllegalArgumentException.class, () -> Respacing.spaceTimesteps(10, "x"));
    }

    @Test
    void deviceLookupsEqualTheHostOnes() {
        // Off the CPU, extract and mapTimesteps index on the device; the same lookups on CPU tensors.
        GaussianDiffusion d = DiffusionConfig.defaults().create("25");
        Tensor t = Tensors.longs(0, 3, 24, 7);
        Tensor like = torch.zeros(4, 2, 2, 2);
        for (double[] table : new double[][] {d.sqrtAlphasCumprod, d.posteriorLogVarianceClipped, d.betas}) {
            assertArrayEquals(Tensors.toFloats(d.extract(table, t, like)), Tensors.toFloats(GaussianDiffusion.indexed(table, t)));
        }
        assertArrayEquals(new long[] {0, 125, 999, 291}, Tensors.toLongs(d.mapTimesteps(t)));
        assertArrayEquals(Tensors.toLongs(d.mapTimesteps(t)), Tensors.toLongs(GaussianDiffusion.indexed(Tensors.longs(d.timestepMap), t)));
    }

    @Test
    void schedulesMatchNumpy() {
        double[] lin = BetaSchedule.named("linear", 1000);
        assertEquals(1e-4, lin[0], 0);
        assertEquals(0.02, lin[999], 0);
        assertEquals(0.00011991991991991992, lin[1], 1e-19);
        double[] cos = BetaSchedule.named("squaredcos_cap_v2", 1000);
        assertEquals(4.128422482196914e-05, cos[0], 1e-15);
        assertEquals(0.999, cos[999], 0);
        assertThrows(IllegalArgumentException.class, () -> BetaSchedule.named("quadratic", 10));
    }

    @Test
    void respacedScheduleKeepsAlphaBar() {
        GaussianDiffusion full = DiffusionConfig.defaults().create("");
        GaussianDiffusion spaced = DiffusionConfig.defaults().create("25");
        for (int i = 0; i < spaced.numTimesteps; i++) {
            assertEquals(full.alphasCumprod[(int) spaced.timestepMap[i]], spaced.alphasCumprod[i], 1e-12);
        }
        Tensor t = Tensors.longs(0, 24);
        assertArrayEquals(new long[] {0, 999}, Tensors.toLongs(spaced.mapTimesteps(t)));
    }

    @Test
    void qSampleAndPosteriorInvertEachOther() {
        GaussianDiffusion d = DiffusionConfig.defaults().create("");
        Tensor x0 = torch.rand(2, 3, 4, 4);
        Tensor noise = torch.randn(2, 3, 4, 4);
        Tensor t = Tensors.longs(10, 700);
        Tensor xt = d.qSample(x0, t, noise);
        Tensor recovered = d.predictXstartFromEps(xt, t, noise);
        assertEquals(0.0, recovered.sub(x0).abs().max().item_double(), 1e-4);
    }

    @Test
    void ddpmWithAPerfectDenoiserRecoversTheData() {
        // A model that knows x0 predicts eps exactly, so DDIM (eta 0) lands on x0.
        GaussianDiffusion d = DiffusionConfig.defaults().withLearnSigma(false).create("ddim20");
        Tensor x0 = torch.rand(1, 1, 4, 4).mul(new org.bytedeco.pytorch.Scalar(2)).sub(new org.bytedeco.pytorch.Scalar(1));
        Denoiser oracle = (x, t) -> {
            GaussianDiffusion base = DiffusionConfig.defaults().withLearnSigma(false).create("");
            return base.predictEpsFromXstart(x, t, x0);
        };
        Tensor out = new DdimSampler(d, 0.0).sample(oracle, torch.randn(1, 1, 4, 4), x -> torch.zeros_like(x), false, Sampler.Progress.NONE);
        assertEquals(0.0, out.sub(x0).abs().max().item_double(), 1e-3);
    }
}
