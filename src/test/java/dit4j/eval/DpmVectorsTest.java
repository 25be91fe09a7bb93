package dit4j.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dit4j.TestFiles;
import dit4j.io.Safetensors;
import dit4j.model.DiTConfig;
import dit4j.model.Pretrained;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The `dpm` vectors of LuChengTHU/dpm-solver over the official test models (scripts/make_sampler_vectors.py), at the default tolerances. */
class DpmVectorsTest {
    static List<String> files() throws IOException {
        try (Stream<Path> s = Files.list(TestFiles.resource("official/dpm"))) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".vectors.safetensors")).sorted().toList();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("files")
    void matchesTheReference(String file) throws Exception {
        Safetensors.Contents v = Safetensors.read(TestFiles.resource("official/dpm/" + file));
        DiTConfig config = DiTConfig.fromJson(new ObjectMapper().readTree(v.metadata().get("model")));
        Path weights = TestFiles.resource("official/" + v.metadata().get("weights") + ".safetensors");
        Pretrained p = Pretrained.load(weights, config, true, 0);
        Verify.Report r = Verify.run(p.model(), Verify.diffusionOf(v.metadata(), config), v.metadata(), v.tensors(),
                Verify.DEFAULT_ATOL, Verify.DEFAULT_RTOL, l -> {});
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
