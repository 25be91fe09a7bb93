package dit4j.sample;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dit4j.OptionException;
import dit4j.TestFiles;
import dit4j.eval.Verify;
import dit4j.io.Safetensors;
import dit4j.model.DiTConfig;
import dit4j.model.Pretrained;
import dit4j.runtime.Precision;
import dit4j.runtime.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;

/** dit sample's DPM-Solver++ samplers, on an official test model. */
class GenerationDpmTest {
    private static Generation generation(String name) throws Exception {
        Safetensors.Contents v = Safetensors.read(TestFiles.resource("official/" + name + ".vectors.safetensors"));
        DiTConfig config = DiTConfig.fromJson(new ObjectMapper().readTree(v.metadata().get("model")));
        Pretrained p = Pretrained.load(TestFiles.resource("official/" + name + ".safetensors"), config, true, 0);
        return new Generation(p.model(), Verify.diffusionOf(v.metadata(), config));
    }

    private static Generation.Options options(String sampler, String steps, double scale) {
        return new Generation.Options(sampler, steps, 0.0, scale, 0, false, 5, 2, Precision.FLOAT32);
    }

    @Test
    void everyDpmSamplerRunsDeterministically() throws Exception {
        Generation g = generation("x0_learned_cosine_p2");
        long[] labels = {0, 3, 5};
        for (String sampler : new String[] {"dpm++2m", "dpm++3m", "dpm++2m-logsnr", "dpm++3m-logsnr"}) {
            int[] calls = {0};
            Tensor a = g.generate(labels, options(sampler, "6", 2.0), (done, total) -> calls[0]++);
            Tensor b = g.generate(labels, options(sampler, "6", 2.0), (done, total) -> {});
            assertArrayEquals(new long[] {3, 2, 8, 8}, Tensors.shape(a));
            assertArrayEquals(Tensors.toFloats(a), Tensors.toFloats(b), sampler);
            assertTrue(a.isfinite().all().item_bool(), sampler);
            assertEquals(2 * 6, calls[0], sampler + ": one progress call per step and batch");
        }
    }

    @Test
    void stepsMustBeANumber() {
        assertThrows(OptionException.class, () -> options("dpm++2m", "ddim20", 1.0).validate());
        assertThrows(OptionException.class, () -> options("dpm++4m", "20", 1.0).validate());
    }
}
