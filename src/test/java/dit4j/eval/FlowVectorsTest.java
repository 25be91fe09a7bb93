package dit4j.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dit4j.TestFiles;
import dit4j.io.Safetensors;
import java.io.IOException;
import java.nio.file.Files;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The flow vectors of willisma/SiT over the official test models (scripts/make_flow_vectors.py), at
 * the default tolerances; official/flow_ode holds ODE runs of torchdiffeq's other adaptive methods.
 */
class FlowVectorsTest {
    static List<String> files() throws IOException {
        return SamplerVectors.files("flow");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("files")
    void matchesTheReference(String file) throws Exception {
        Verify.Report r = SamplerVectors.passes("flow", file);
        assertTrue(r.groups().contains("flow_loss"), r.groups().toString());
    }

    static List<String> odeFiles() throws IOException {
        return SamplerVectors.files("flow_ode");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("odeFiles")
    void matchesTheReferencesAdaptiveMethods(String file) throws Exception {
        assertEquals(List.of("flow_ode"), SamplerVectors.passes("flow_ode", file).groups());
    }

    @Test
    void theAdaptiveMethodsAreCovered() throws Exception {
        Set<String> seen = new HashSet<>();
        for (String f : odeFiles()) seen.add(Safetensors.read(TestFiles.resource("official/flow_ode/" + f)).metadata().get("flow_ode_method"));
        assertTrue(seen.containsAll(List.of("bosh3", "fehlberg2", "adaptive_heun")), seen.toString());
    }

    /** Every path, prediction and loss weight; at least the fixed-grid ODE methods and both SDE methods. */
    @Test
    void theFilesCoverTheTransports() throws Exception {
        Set<String> seen = new HashSet<>();
        for (String f : files()) {
            Safetensors.Contents v = Safetensors.read(TestFiles.resource("official/flow/" + f));
            seen.add(v.metadata().get("flow_path") + "/" + v.metadata().get("flow_prediction") + "/" + v.metadata().get("flow_loss_weight"));
            if (v.tensors().containsKey("flow_ode.sample")) seen.add(v.metadata().get("flow_ode_method"));
            if (v.tensors().containsKey("flow_sde.sample")) seen.add(v.metadata().get("flow_sde_method") + "/" + v.metadata().get("flow_sde_last_step"));
        }
        for (String path : List.of("Linear", "GVP", "VP")) {
            assertTrue(seen.contains(path + "/velocity/none"), seen.toString());
            for (String p : List.of("score", "noise")) for (String w : List.of("none", "velocity", "likelihood")) assertTrue(seen.contains(path + "/" + p + "/" + w), seen.toString());
        }
        assertTrue(seen.containsAll(List.of("euler", "heun2", "midpoint", "rk4", "heun3", "dopri5")), seen.toString());
        assertTrue(seen.stream().anyMatch(s -> s.startsWith("Euler/")) && seen.stream().anyMatch(s -> s.startsWith("Heun/")), seen.toString());
        assertTrue(seen.stream().anyMatch(s -> s.endsWith("/Tweedie")) && seen.stream().anyMatch(s -> s.endsWith("/None")), seen.toString());
    }
}
