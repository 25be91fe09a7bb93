package dit4j.flow;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dit4j.flow.Transport.LossWeight;
import dit4j.flow.Transport.Prediction;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** SiT's create_transport eps rules and check_interval, quirks included. */
class TransportTest {
    @Test
    void epsRulesOfCreateTransport() {
        Transport vp = Transport.create(FlowPath.VP, Prediction.VELOCITY, LossWeight.NONE);
        assertEquals(1e-5, vp.trainEps);
        assertEquals(1e-3, vp.sampleEps);
        Transport score = Transport.create(FlowPath.LINEAR, Prediction.SCORE, LossWeight.LIKELIHOOD);
        assertEquals(1e-3, score.trainEps);
        assertEquals(1e-3, score.sampleEps);
        Transport velocity = Transport.create(FlowPath.GVP, Prediction.VELOCITY, LossWeight.NONE);
        assertEquals(0, velocity.trainEps);
        assertEquals(0, velocity.sampleEps);
    }

    @Test
    void intervals() {
        Transport velocity = Transport.create(FlowPath.LINEAR, Prediction.VELOCITY, LossWeight.NONE);
        assertArrayEquals(new double[] {0, 1}, velocity.interval(false, false, "SBDM", 0), 0);
        // the SDE stops at 1 - last_step_size; SBDM starts at sample_eps, 0 for a velocity model (where SBDM is infinite)
        assertArrayEquals(new double[] {0, 0.96}, velocity.interval(true, true, "SBDM", 0.04), 1e-15);
        Transport noise = Transport.create(FlowPath.GVP, Prediction.NOISE, LossWeight.NONE);
        assertArrayEquals(new double[] {1e-3, 1 - 1e-3}, noise.interval(true, false, "SBDM", 0), 1e-15);
        Transport vp = Transport.create(FlowPath.VP, Prediction.SCORE, LossWeight.NONE);
        assertArrayEquals(new double[] {0, 1 - 1e-5}, vp.interval(false, false, "SBDM", 0), 1e-15);
        assertArrayEquals(new double[] {0, 1 - 0.04}, vp.interval(true, true, "sigma", 0.04), 1e-15);
    }

    @Test
    void fromCheckpointArgs() {
        assertNull(Transport.fromArgs(Map.of("objective", "diffusion")));
        assertNull(Transport.fromArgs(Map.of()));
        Transport t = Transport.fromArgs(Map.of("objective", "flow", "flow_path", "VP", "flow_prediction", "noise", "flow_loss_weight", "likelihood"));
        assertEquals(FlowPath.VP, t.path);
        assertEquals(Prediction.NOISE, t.prediction);
        assertEquals(LossWeight.LIKELIHOOD, t.lossWeight);
        assertThrows(IllegalArgumentException.class, () -> FlowPath.parse("Curved"));
        assertThrows(IllegalArgumentException.class, () -> Prediction.parse("x0"));
    }
}
