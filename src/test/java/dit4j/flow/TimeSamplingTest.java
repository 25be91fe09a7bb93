package dit4j.flow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dit4j.runtime.Tensors;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

/** Uniform and logit-normal training times: where they put their mass, and the flag's forms. */
class TimeSamplingTest {
    private static double[] draw(TimeSampling s, double[] interval) {
        Generator g = torch.make_generator_cpu();
        g.set_current_seed(5);
        return Tensors.toDoubles(s.draw(200_000, g, interval));
    }

    private static double share(double[] t, double lo, double hi) {
        int k = 0;
        for (double v : t) if (v >= lo && v <= hi) k++;
        return k / (double) t.length;
    }

    @Test
    void logitNormalPutsMoreMassInTheMiddle() {
        double[] u = draw(TimeSampling.UNIFORM, new double[] {0, 1});
        double[] ln = draw(TimeSampling.parse("logit-normal"), new double[] {0, 1});
        assertEquals(0.5, share(u, 0.25, 0.75), 0.005);
        // P(|n| < logit(0.75) = ln 3) for n ~ N(0, 1)
        assertEquals(0.7275, share(ln, 0.25, 0.75), 0.005);
        // m shifts the mass: sigmoid(1 + n) has median sigmoid(1) = 0.731
        double[] shifted = draw(TimeSampling.parse("logit-normal:1,1"), new double[] {0, 1});
        assertEquals(0.5, share(shifted, 0, 0.7310586), 0.005);
    }

    @Test
    void timesStayInTheTrainingInterval() {
        for (double v : draw(TimeSampling.parse("logit-normal:0,3"), new double[] {1e-3, 1 - 1e-3})) {
            assertTrue(v >= 1e-3 && v <= 1 - 1e-3, "t = " + v);
        }
    }

    @Test
    void parsesAndNamesItsForms() {
        assertEquals("uniform", TimeSampling.parse("uniform").toString());
        assertEquals("logit-normal", TimeSampling.parse("logit-normal").toString());
        assertEquals("logit-normal:0.5,2.0", TimeSampling.parse("logit-normal:0.5,2").toString());
        for (String bad : new String[] {"normal", "logit-normal:1", "logit-normal:0,0", "logit-normal:a,1"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TimeSampling.parse(bad));
            assertTrue(e.getMessage().contains(bad), e.getMessage());
        }
    }
}
