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

/** The flow vectors of willisma/SiT over the official test models (scripts/make_flow_vectors.py), at the default tolerances. */
class FlowVectorsTest {
    static List<String> files() throws IOException {
        try (Stream<Path> s = Files.list(TestFiles.resource("official/flow"))) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".vectors.safetensors")).sorted().toList();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("files")
    void matchesTheReference(String file) throws Exception {
        Safetensors.Contents v = Safetensors.read(TestFiles.resource("official/flow/" + file));
        DiTConfig config = DiTConfig.fromJson(new ObjectMapper().readTree(v.metadata().get("model")));
        Path weights = TestFiles.resource("official/" + v.metadata().get("weights") + ".safetensors");
        Pretrained p = Pretrained.load(weights, config, true, 0);
        Verify.Report r = Verify.run(p.model(), Verify.diffusionOf(v.metadata(), config), v.metadata(), v.tensors(),
                Verify.DEFAULT_ATOL, Verify.DEFAULT_RTOL, l -> {});
        assertTrue(r.errors().isEmpty(), r.errors().toString());
        assertTrue(r.groups().contains("flow_loss"), r.groups().toString());
        assertTrue(r.ok(), r.lines().toString());
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
