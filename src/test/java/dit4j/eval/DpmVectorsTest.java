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
 * The `dpm` vectors of LuChengTHU/dpm-solver over the official test models, at the default
 * tolerances: on their DDPM schedules (scripts/make_sampler_vectors.py), and on SiT's flow paths
 * with the models as SiT's flows (scripts/make_flow_dpm_vectors.py).
 */
class DpmVectorsTest {
    static List<String> files() throws IOException {
        return SamplerVectors.files("dpm");
    }

    static List<String> flowFiles() throws IOException {
        return SamplerVectors.files("flow_dpm");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("files")
    void matchesTheReference(String file) throws Exception {
        assertEquals(List.of("dpm"), SamplerVectors.passes("dpm", file).groups());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("flowFiles")
    void matchesTheReferenceOnFlowPaths(String file) throws Exception {
        assertEquals(List.of("dpm"), SamplerVectors.passes("flow_dpm", file).groups());
    }

    /** Every path with velocity, noise and score, all skip types, and the data-end rule (12 and 20 steps on Linear and GVP velocity). */
    @Test
    void theFlowFilesCoverPathsPredictionsAndTheDataEnd() throws Exception {
        Set<String> seen = new HashSet<>();
        for (String f : flowFiles()) {
            Safetensors.Contents v = Safetensors.read(TestFiles.resource("official/flow_dpm/" + f));
            assertEquals("flow", v.metadata().get("objective"));
            seen.add(v.metadata().get("flow_path") + "/" + v.metadata().get("flow_prediction"));
            seen.add(v.metadata().get("dpm_skip_type"));
            long steps = (long) dit4j.runtime.Tensors.toDoubles(v.tensors().get("dpm.steps"))[0];
            if (steps >= 10 && v.metadata().get("flow_prediction").equals("velocity") && !v.metadata().get("flow_path").equals("VP")) seen.add("data end");
        }
        assertTrue(seen.containsAll(List.of("Linear/velocity", "GVP/velocity", "VP/velocity", "Linear/noise", "Linear/score", "VP/noise",
                "time_uniform", "logSNR", "time_quadratic", "data end")), seen.toString());
    }

    /** Both orders, both skip types, guided and not, on linear and cosine models. */
    @Test
    void theFilesCoverOrdersSkipTypesGuidanceAndSchedules() throws Exception {
        Set<String> seen = new HashSet<>();
        for (String f : files()) {
            Safetensors.Contents v = Safetensors.read(TestFiles.resource("official/dpm/" + f));
            seen.add("order" + (long) dit4j.runtime.Tensors.toDoubles(v.tensors().get("dpm.order"))[0]);
            seen.add(v.metadata().get("dpm_skip_type"));
            seen.add(dit4j.runtime.Tensors.toDoubles(v.tensors().get("dpm.scale"))[0] == 1.0 ? "unguided" : "guided");
            seen.add(v.metadata().get("noise_schedule"));
        }
        assertTrue(seen.containsAll(List.of("order2", "order3", "time_uniform", "logSNR", "guided", "unguided", "linear", "squaredcos_cap_v2")), seen.toString());
    }
}
