package dit4j.sample;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dit4j.OptionException;
import dit4j.TestFiles;
import dit4j.diffusion.DiffusionConfig;
import dit4j.io.Safetensors;
import dit4j.model.DiT;
import dit4j.model.DiTConfig;
import dit4j.model.Pretrained;
import dit4j.TinyCheckpoint;
import dit4j.runtime.Precision;
import dit4j.runtime.Tensors;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;

/** The Java API: the same images as Generation alone, close ones when batched, cancellation, validation. */
class GeneratorTest {

    static Generation.Options options(String sampler, String steps, double cfg, long seed, int batch) {
        return new Generation.Options(sampler, steps, 0.0, cfg, 3, false, seed, batch, Precision.FLOAT32);
    }

    @Test
    void aloneItGivesGenerationsImagesExactly() throws Exception {
        try (Generator g = Generator.open(TinyCheckpoint.get(), null)) {
            SampleModel m = g.model();
            long[] ys = {0, 3, 3, 9, 1};
            for (Generation.Options o : List.of(options("ddpm", "6", 3.0, 7, 64), options("ddim", "5", 1.0, 11, 64), options("ddpm", "4", 2.0, 5, 2))) {
                Tensor ref = new Generation(m.model(), m.diffusion()).generate(ys, o, (d, t) -> {});
                float[] expected = Tensors.toFloats(ref);
                Result r = g.submit(ys, o, null).join();
                assertArrayEquals(expected, r.pixels(), o.toString());
                assertEquals(5, r.count());
                assertTrue(r.text(1).get("parameters").contains("\"seed\":" + o.seed()), r.text(1).toString());
            }
        }
    }

    /** On a flow model ddpm and ddim are Generation's samplers on the flow's path, not the engine's official steps. */
    @Test
    void aFlowModelsDdpmIsTheFlowsOwn() throws Exception {
        SampleModel m = SampleModel.load(TinyCheckpoint.get(), true, 0)
                .withTransport(dit4j.flow.Transport.create(dit4j.flow.FlowPath.LINEAR, dit4j.flow.Transport.Prediction.VELOCITY, dit4j.flow.Transport.LossWeight.NONE));
        long[] ys = {0, 3, 1};
        try (Generator g = new Generator(m, null, TinyCheckpoint.get(), Generator.Limits.defaults())) {
            for (Generation.Options o : List.of(options("ddpm", "6", 3.0, 7, 64), options("ddim", "5", 1.0, 11, 64), options("dpm++2m", "5", 2.0, 5, 64))) {
                float[] flow = Tensors.toFloats(m.generation().generate(ys, o, (d, t) -> {}));
                float[] gaussian = Tensors.toFloats(new Generation(m.model(), m.diffusion()).generate(ys, o, (d, t) -> {}));
                assertArrayEquals(flow, g.submit(ys, o, null).join().pixels(), o.toString());
                double diff = 0;
                for (int i = 0; i < flow.length; i++) diff = Math.max(diff, Math.abs(flow[i] - gaussian[i]));
                assertTrue(diff > 1e-3, o.sampler() + " on a flow must not be the diffusion's sampler");
            }
            // an unknown name is refused on either kind of model, not taken for a default
            assertThrows(OptionException.class, () -> m.generation().sampler(options("euler-x", "5", 1.0, 0, 64)));
            assertThrows(OptionException.class, () -> new Generation(m.model(), m.diffusion()).sampler(options("euler-x", "5", 1.0, 0, 64)));
        }
    }

    @Test
    void aGuidanceIntervalGuidesOnlyItsSteps() throws Exception {
        // a model with random weights everywhere (the tiny checkpoint's zero-initialised output ignores labels)
        Safetensors.Contents v = Safetensors.read(TestFiles.resource("official/eps_learned_linear_p2.vectors.safetensors"));
        DiTConfig config = DiTConfig.fromJson(new ObjectMapper().readTree(v.metadata().get("model")));
        DiT model = Pretrained.load(TestFiles.resource("official/eps_learned_linear_p2.safetensors"), config, true, 0).model();
        Generation gen = new Generation(model, DiffusionConfig.defaults().withLearnSigma(config.learnSigma()));
        long[] ys = {0, 3, 1};
        Generation.Options all = options("ddim", "6", 3.0, 7, 64);
        // the 6 DDIM steps sit at base timesteps 999, 833, ..., 0 (the official respacing)
        float[] everywhere = Tensors.toFloats(gen.generate(ys, all, (d, t) -> {}));
        float[] late = Tensors.toFloats(gen.generate(ys, all.withCfgInterval(0, 500), (d, t) -> {}));
        float[] wide = Tensors.toFloats(gen.generate(ys, all.withCfgInterval(-1, 1000), (d, t) -> {}));
        assertArrayEquals(everywhere, wide, 1e-5f);
        double diff = 0;
        for (int i = 0; i < everywhere.length; i++) diff = Math.max(diff, Math.abs(everywhere[i] - late[i]));
        assertTrue(diff > 1e-2, "guiding fewer steps must change the images, max difference " + diff);
        assertThrows(OptionException.class, () -> Generation.Options.parseCfgInterval("700,0"));
        assertThrows(OptionException.class, () -> Generation.Options.parseCfgInterval("0"));
        // a request that sets no interval keeps the one its base (the checkpoint's defaults) records
        Generation.Options kept = new Generator.Request().options(all.withCfgInterval(0, 500));
        assertEquals(0.0, kept.cfgLo());
        assertEquals(500.0, kept.cfgHi());
        assertEquals(Precision.BFLOAT16, kept.withPrecision(Precision.BFLOAT16).precision());
        assertEquals(500.0, kept.withPrecision(Precision.BFLOAT16).cfgHi());
        // the server's engine (per-row interval over its batch) gives Generation's images
        try (Generator g = Generator.open(TinyCheckpoint.get(), null)) {
            SampleModel m = g.model();
            Generation.Options o = all.withCfgInterval(0, 500);
            float[] ref = Tensors.toFloats(new Generation(m.model(), m.diffusion()).generate(ys, o, (d, t) -> {}));
            assertArrayEquals(ref, g.submit(ys, o, null).join().pixels(), 1e-5f);
        }
    }

    @Test
    void batchedRequestsShareStepsAndStayWithinTwoLevels() throws Exception {
        try (Generator g = Generator.open(TinyCheckpoint.get(), null, null, new Generator.Limits(16, 16))) {
            List<Result> alone = new ArrayList<>();
            for (int k = 0; k < 4; k++) alone.add(g.generate(new Generator.Request().classes(Integer.toString(k)).count(2).steps("8").cfgScale(3).seed(100 + k)));
            List<Integer> batchRows = new ArrayList<>();
            g.onBatchStep((rows, secs) -> {
                synchronized (batchRows) {
                    batchRows.add(rows);
                }
            });
            // The first request is under way when the others join it.
            CountDownLatch started = new CountDownLatch(1);
            List<Generator.Job> jobs = new ArrayList<>();
            jobs.add(g.submit(new Generator.Request().classes("0").count(2).steps("8").cfgScale(3).seed(100), new Generator.Listener() {
                @Override
                public void onStep(int done, int total) {
                    if (done == 2) started.countDown();
                }
            }));
            assertTrue(started.await(60, TimeUnit.SECONDS));
            for (int k = 1; k < 4; k++) jobs.add(g.submit(new Generator.Request().classes(Integer.toString(k)).count(2).steps("8").cfgScale(3).seed(100 + k), null));
            for (int k = 0; k < 4; k++) {
                Result r = jobs.get(k).join();
                for (int i = 0; i < 2; i++) {
                    byte[] a = alone.get(k).uint8(i), b = r.uint8(i);
                    for (int p = 0; p < a.length; p++) assertTrue(Math.abs((a[p] & 255) - (b[p] & 255)) <= 2, "request " + k + " image " + i + " pixel " + p);
                }
            }
            synchronized (batchRows) {
                assertTrue(batchRows.stream().anyMatch(n -> n > 2), "no step batched several requests: " + batchRows);
            }
        }
    }

    @Test
    void cancellingStopsARequestAndTheEngineGoesOn() throws Exception {
        try (Generator g = Generator.open(TinyCheckpoint.get(), null)) {
            CountDownLatch stepped = new CountDownLatch(1);
            Generator.Job job = g.submit(new Generator.Request().classes("1").steps("1000").seed(1), new Generator.Listener() {
                @Override
                public void onStep(int done, int total) {
                    stepped.countDown();
                }
            });
            assertTrue(stepped.await(60, TimeUnit.SECONDS));
            job.cancel();
            assertThrows(CancellationException.class, () -> job.future().get(60, TimeUnit.SECONDS));
            assertEquals(1, g.generate(new Generator.Request().classes("2").steps("3")).count());
        }
    }

    @Test
    void badValuesNameTheirField() throws Exception {
        try (Generator g = Generator.open(TinyCheckpoint.get(), null)) {
            assertTrue(assertThrows(OptionException.class, () -> g.submit(new Generator.Request().classes("10"), null)).getMessage().contains("class 10 is outside [0, 10)"));
            assertTrue(assertThrows(OptionException.class, () -> g.submit(new Generator.Request().cfgScale(Double.NaN), null)).getMessage().contains("--cfg-scale"));
            assertTrue(assertThrows(OptionException.class, () -> g.submit(new Generator.Request().sampler("euler-x"), null)).getMessage().contains("--sampler"));
            assertTrue(assertThrows(OptionException.class, () -> g.submit(new Generator.Request().count(0), null)).getMessage().contains("count"));
        }
    }
}
