package dit4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class LrScheduleTest {
    static final double EPS = 1e-15;

    @Test
    void warmupIsLinearFromTheFirstUpdate() {
        LrSchedule s = new LrSchedule(1e-3, 4, false, 0.1, 100);
        assertEquals(0.25e-3, s.at(1), EPS);
        assertEquals(0.5e-3, s.at(2), EPS);
        assertEquals(1e-3, s.at(4), EPS);
        assertEquals(1e-3, s.at(5), EPS);
    }

    @Test
    void constantIsTheOfficialSchedule() {
        LrSchedule s = new LrSchedule(1e-4, 0, false, 0.1, 10);
        for (long step : new long[] {1, 5, 10, 1000}) assertEquals(1e-4, s.at(step), 0);
    }

    @Test
    void cosineDecaysFromThePeakToTheFloorAndStaysThere() {
        LrSchedule s = new LrSchedule(1e-3, 10, true, 0.1, 110);
        assertEquals(1e-3, s.at(10), EPS);
        assertEquals(1e-4 + 0.9e-3 * 0.5 * (1 + Math.cos(Math.PI * 0.25)), s.at(35), EPS);
        assertEquals(0.55e-3, s.at(60), EPS); // halfway: mid between peak and floor
        assertEquals(1e-4, s.at(110), EPS);
        assertEquals(1e-4, s.at(500), EPS);
        for (long t = 11; t <= 110; t++) assertTrue(s.at(t) <= s.at(t - 1), "not decreasing at " + t);
        // a run no longer than its warmup never decays
        assertEquals(1e-3, new LrSchedule(1e-3, 10, true, 0.1, 10).at(12), EPS);
    }

    @Test
    void optionsAreNamedAndCheckedAndTheEmaWarmupIsCapped() {
        TrainOptions o = new TrainOptions();
        o.lrSchedule = "cosine";
        o.lr = 2e-4;
        o.warmupSteps = 0;
        o.minLrRatio = 0;
        assertEquals(0, LrSchedule.of(o, 50).at(50), EPS);
        o.lrSchedule = "linear";
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LrSchedule.of(o, 50));
        assertTrue(e.getMessage().contains("'linear'"), e.getMessage());
        assertEquals(0.9999, LrSchedule.emaDecay(0.9999, false, 0), 0);
        assertEquals(0.1, LrSchedule.emaDecay(0.9999, true, 0), EPS);
        assertEquals(0.9999, LrSchedule.emaDecay(0.9999, true, 1_000_000), 0);
    }
}
