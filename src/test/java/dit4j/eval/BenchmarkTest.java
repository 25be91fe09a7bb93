package dit4j.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dit4j.model.DiTConfig;
import dit4j.runtime.Precision;
import dit4j.train.TrainStep;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class BenchmarkTest {
    private static final DiTConfig SMALL = new DiTConfig(8, 2, 4, 64, 2, 4, 4.0, 0.1, 10, true);

    @Test
    void trainBenchmarkAccountsForTheStepByPhaseAndProfilesThePass() {
        Benchmark.Result r = Benchmark.run(new Benchmark.Options(SMALL, 4, "train", 0.6, Precision.FLOAT32, 3, false, true), msg -> {});
        assertEquals(3, r.repeatImagesPerSec().length);
        assertTrue(r.imagesPerSec() > 0 && r.imagesPerSecMin() <= r.imagesPerSec() && r.imagesPerSec() <= r.imagesPerSecMax());
        assertTrue(r.peakGflops() > 0 && r.mfu() > 0 && r.peakRssMb() > 0, "peak, MFU and RSS are measured");
        // The phases are timed inside the measured steps, so they add up to (nearly all of) a step.
        assertEquals(TrainStep.PHASES.length, r.phaseMs().length);
        double phases = Arrays.stream(r.phaseMs()).sum();
        assertTrue(Arrays.stream(r.phaseMs()).allMatch(ms -> ms > 0), Arrays.toString(r.phaseMs()));
        assertTrue(phases <= r.msPerStep() * 1.01 && phases >= r.msPerStep() * 0.5, phases + " ms of phases in a " + r.msPerStep() + " ms step");
        Profile.Report p = r.profile();
        assertNotNull(p);
        assertTrue(p.parts().stream().allMatch(part -> part.msEach() > 0));
        assertEquals(2 * SMALL.depth(), p.parts().stream().filter(part -> part.name().startsWith("gated residual")).findFirst().orElseThrow().perPass());
        assertTrue(p.passMs() > 0);
    }

    @Test
    void sampleBenchmarkHasNoTrainingPhases() {
        Benchmark.Result r = Benchmark.run(new Benchmark.Options(SMALL, 2, "sample", 0.3, Precision.FLOAT32, 1, false, false), msg -> {});
        assertTrue(r.imagesPerSec() > 0 && r.steps() > 0);
        assertNull(r.phaseMs());
        assertNull(r.profile());
    }

    /** The FID network as dit eval runs it: float32 on the CPU only, its flops counted per 299x299 image. */
    @Test
    void inceptionBenchmarkTimesTheFidNetwork() {
        Benchmark.Result r = Benchmark.run(new Benchmark.Options(SMALL, 2, "inception", 0.3, Precision.FLOAT32, 1, false, false), msg -> {});
        assertTrue(r.imagesPerSec() > 0 && r.steps() > 0);
        assertEquals("InceptionV3 (pytorch-fid)", r.model());
        assertEquals(r.imagesPerSec() * 2 * Benchmark.INCEPTION_MACS / 1e9, r.achievedGflops(), 1e-6 * r.achievedGflops());
        org.junit.jupiter.api.Assertions.assertThrows(dit4j.OptionException.class,
                () -> Benchmark.run(new Benchmark.Options(SMALL, 2, "inception", 0.3, Precision.BFLOAT16, 1, false, false), msg -> {}));
    }
}
