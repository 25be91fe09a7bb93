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

/** The `dpm` vectors of LuChengTHU/dpm-solver over the official test models (scripts/make_sampler_vectors.py), at the default tolerances. */
class DpmVectorsTest {
    static List<String> files() throws IOException {
        return SamplerVectors.files("dpm");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("files")
    void matchesTheReference(String file) throws Exception {
        Verify.Report r = SamplerVectors.run("dpm", file);
        assertTrue(r.errors().isEmpty(), r.errors().toString());
        assertEquals(List.of("dpm"), r.groups());
        assertTrue(r.ok(), r.lines().toString());
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
