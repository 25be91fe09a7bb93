package dit4j.eval;

import com.fasterxml.jackson.databind.ObjectMapper;
import dit4j.TestFiles;
import dit4j.io.Safetensors;
import dit4j.model.DiTConfig;
import dit4j.model.Pretrained;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** Sampler vector files under official/FOLDER, each naming the official test model whose weights it uses. */
final class SamplerVectors {
    private SamplerVectors() {}

    static List<String> files(String folder) throws IOException {
        try (Stream<Path> s = Files.list(TestFiles.resource("official/" + folder))) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".vectors.safetensors")).sorted().toList();
        }
    }

    /** Every group of one file against the model its metadata names, at the default tolerances. */
    static Verify.Report run(String folder, String file) throws Exception {
        Safetensors.Contents v = Safetensors.read(TestFiles.resource("official/" + folder + "/" + file));
        DiTConfig config = DiTConfig.fromJson(new ObjectMapper().readTree(v.metadata().get("model")));
        Path weights = TestFiles.resource("official/" + v.metadata().get("weights") + ".safetensors");
        Pretrained p = Pretrained.load(weights, config, true, 0);
        return Verify.run(p.model(), Verify.diffusionOf(v.metadata(), config), v.metadata(), v.tensors(),
                Verify.DEFAULT_ATOL, Verify.DEFAULT_RTOL, l -> {});
    }

    /** {@link #run} that must pass: no errors, every group within tolerance. */
    static Verify.Report passes(String folder, String file) throws Exception {
        Verify.Report r = run(folder, file);
        org.junit.jupiter.api.Assertions.assertTrue(r.errors().isEmpty(), r.errors().toString());
        org.junit.jupiter.api.Assertions.assertTrue(r.ok(), r.lines().toString());
        return r;
    }
}
