package dit4j.sample;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dit4j.OptionException;
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
