package dit4j.flow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dit4j.diffusion.NoiseSchedule.SkipType;
import dit4j.flow.Transport.LossWeight;
import dit4j.flow.Transport.Prediction;
import dit4j.runtime.Tensors;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** SiT's paths as DPM-Solver schedules: time reversed, the closed-form inverse log-SNR, the data prediction of each parametrisation. */
class FlowScheduleTest {
    @BeforeAll
    static void natives() {
        dit4j.runtime.Threads.configureDefault();
    }

    private static FlowSchedule of(FlowPath p, Prediction q) {
        return new FlowSchedule(Transport.create(p, q, LossWeight.NONE));
    }

    @Test
    void tauIsReversedSiTTime() {
        for (FlowPath p : FlowPath.values()) {
            FlowSchedule ns = of(p, Prediction.VELOCITY);
            for (double t : new double[] {0.1, 0.5, 0.9}) {
                Tensor tt = Tensors.doubles(new double[] {t}, 1);
                assertEquals(p.alpha(tt).item_double(), ns.marginalAlpha(1 - t), 1e-15, p + " alpha");
                assertEquals(p.sigma(tt).item_double(), ns.marginalStd(1 - t), 1e-15, p + " sigma");
            }
        }
        FlowSchedule linear = of(FlowPath.LINEAR, Prediction.VELOCITY);
        assertEquals(Double.NEGATIVE_INFINITY, linear.marginalLambda(1.0));   // pure noise
        assertEquals(Double.POSITIVE_INFINITY, linear.marginalLambda(0.0));   // the data
    }

    @Test
    void inverseLambdaInvertsEachPath() {
        for (FlowPath p : FlowPath.values()) {
            FlowSchedule ns = of(p, Prediction.VELOCITY);
            for (double tau : new double[] {0.01, 0.2, 0.5, 0.8, 0.99}) {
                assertEquals(tau, ns.inverseLambda(ns.marginalLambda(tau)), 1e-9, p + " at tau " + tau);
            }
        }
    }

    /** x_t = alpha x1 + sigma x0: each prediction of (x1, x0) gives x1 back, at pure noise too for velocity. */
    @Test
    void dataPredictionOfEachParametrisation() {
        Generator g = torch.createCPUGenerator(3);
        TensorOptions f64 = new TensorOptions(ScalarType.Double);
        Tensor x1 = torch.randn(new long[] {2, 3, 4, 4}, new GeneratorOptional(g), f64);
        Tensor x0 = torch.randn(new long[] {2, 3, 4, 4}, new GeneratorOptional(g), f64);
        for (FlowPath p : FlowPath.values()) {
            for (Prediction q : Prediction.values()) {
                FlowSchedule ns = of(p, q);
                double[] ts = q == Prediction.VELOCITY && p != FlowPath.VP ? new double[] {0.0, 0.3, 0.7} : new double[] {0.3, 0.7};
                for (double t : ts) {
                    Tensor tt = Tensors.doubles(new double[] {t}, 1);
                    double a = p.alpha(tt).item_double(), s = p.sigma(tt).item_double();
                    double da = p.dAlpha(tt).item_double(), ds = p.dSigma(tt).item_double();
                    Tensor xt = x1.mul(new org.bytedeco.pytorch.Scalar(a)).add(x0.mul(new org.bytedeco.pytorch.Scalar(s)));
                    Tensor out = switch (q) {
                        case VELOCITY -> x1.mul(new org.bytedeco.pytorch.Scalar(da)).add(x0.mul(new org.bytedeco.pytorch.Scalar(ds)));
                        case NOISE -> x0;
                        case SCORE -> x0.div(new org.bytedeco.pytorch.Scalar(-s));
                    };
                    double err = ns.dataPrediction(out, xt, 1 - t).sub(x1).abs().max().item_double();
                    assertTrue(err < 1e-12, p + "/" + q + " at t " + t + ": " + err);
                }
            }
        }
    }

    @Test
    void gridsRunOverSiTsOdeInterval() {
        FlowSchedule linear = of(FlowPath.LINEAR, Prediction.VELOCITY);
        double[] u = linear.timeSteps(SkipType.TIME_UNIFORM, 4);
        assertEquals(5, u.length);
        assertEquals(1.0, u[0]);
        assertEquals(0.0, u[4]);
        assertTrue(linear.isDataEnd(u[4]));
        assertFalse(linear.isDataEnd(u[3]));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> linear.timeSteps(SkipType.LOG_SNR, 4));
        assertTrue(e.getMessage().contains("log-SNR"), e.getMessage());
        // noise prediction samples over [1e-3, 1 - 1e-3]: a finite log-SNR grid, uniform in lambda, never the data end
        FlowSchedule noise = of(FlowPath.LINEAR, Prediction.NOISE);
        double[] l = noise.timeSteps(SkipType.LOG_SNR, 4);
        assertEquals(0.999, l[0], 1e-6);
        assertEquals(0.001, l[4], 1e-6);
        double step = noise.marginalLambda(l[1]) - noise.marginalLambda(l[0]);
        for (int i = 1; i < 4; i++) assertEquals(step, noise.marginalLambda(l[i + 1]) - noise.marginalLambda(l[i]), 1e-4);
        assertFalse(noise.isDataEnd(l[4]));
        // the model is fed SiT's t
        assertEquals(0.25f, linear.modelInputTime(0.75, 2, true).get(1).item_float());
    }
}
