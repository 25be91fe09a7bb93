package dit4j.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dit4j.TestFiles;
import dit4j.diffusion.DiffusionConfig;
import dit4j.diffusion.GaussianDiffusion;
import dit4j.io.Safetensors;
import dit4j.model.DiTConfig;
import dit4j.model.Pretrained;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Every vector file made by the official DiT code (scripts/make_official_vectors.py), at the default tolerances. */
class OfficialVectorsTest {
    private static final String SUFFIX = ".vectors.safetensors";

    static List<String> names() throws IOException {
        List<String> out = new ArrayList<>();
        try (Stream<Path> s = Files.list(TestFiles.resource("official"))) {
            s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(SUFFIX)).sorted()
                    .forEach(n -> out.add(n.substring(0, n.length() - SUFFIX.length())));
        }
        return out;
    }

    static Stream<Arguments> files() throws IOException {
        List<Arguments> out = new ArrayList<>();
        for (String name : names()) {
            for (String kind : new String[] {"state_dict.pt", "safetensors", "train.pt"}) {
                if (Files.exists(TestFiles.resource("official").resolve(name + "." + kind))) out.add(Arguments.of(name, kind));
            }
        }
        return out.stream();
    }

    private static Safetensors.Contents vectors(String name) throws IOException {
        return Safetensors.read(TestFiles.resource("official/" + name + SUFFIX));
    }

    private static DiTConfig configOf(Safetensors.Contents v) throws IOException {
        return DiTConfig.fromJson(new ObjectMapper().readTree(v.metadata().get("model")));
    }

    @ParameterizedTest(name = "{0} with {1}")
    @MethodSource("files")
    void everyGroupPasses(String name, String kind) throws Exception {
        Safetensors.Contents v = vectors(name);
        DiTConfig config = configOf(v);
        Pretrained p = Pretrained.load(TestFiles.resource("official/" + name + "." + kind), config, true, 0);
        Verify.Report r = Verify.run(p.model(), Verify.diffusionOf(v.metadata(), config), v.tensors(),
                Verify.DEFAULT_ATOL, Verify.DEFAULT_RTOL, l -> {});
        assertTrue(r.errors().isEmpty(), r.errors().toString());
        assertTrue(r.ok(), r.lines().stream().filter(l -> !l.ok()).toList().toString());
        assertTrue(r.groups().containsAll(List.of("forward", "cfg", "loss", "grad", "pmv")), r.groups().toString());
        for (String g : r.groups()) {
            assertTrue(r.lines().stream().anyMatch(l -> l.name().startsWith(g + ".")), "group " + g + " compared no tensor");
        }
    }

    /** The files between them cover every mean, variance and loss type create_diffusion builds, and both samplers. */
    @Test
    void theFilesCoverEveryDiffusionKind() throws Exception {
        Set<String> seen = new HashSet<>();
        int ddpm = 0, ddim = 0, cosineDdim = 0, clipped = 0;
        for (String name : names()) {
            Safetensors.Contents v = vectors(name);
            DiTConfig config = configOf(v);
            DiffusionConfig dc = Verify.diffusionOf(v.metadata(), config);
            GaussianDiffusion d = dc.create("");
            seen.add(d.modelMeanType.name());
            seen.add(d.modelVarType.name());
            seen.add(d.lossType.name());
            seen.add(dc.noiseSchedule());
            seen.add("patch" + config.patchSize());
            Map<String, org.bytedeco.pytorch.Tensor> t = v.tensors();
            if (t.containsKey("ddpm.sample")) ddpm++;
            if (t.containsKey("ddim.sample")) {
                ddim++;
                if (dc.noiseSchedule().equals("squaredcos_cap_v2")) cosineDdim++;
            }
            if (t.containsKey("ddpm.clip_denoised") && dit4j.runtime.Tensors.toDoubles(t.get("ddpm.clip_denoised"))[0] == 1) clipped++;
        }
        for (String k : List.of("EPSILON", "START_X", "LEARNED_RANGE", "FIXED_SMALL", "FIXED_LARGE", "MSE", "RESCALED_MSE", "RESCALED_KL",
                "linear", "squaredcos_cap_v2", "patch2", "patch4")) {
            assertTrue(seen.contains(k), k + " is not covered: " + seen);
        }
        assertTrue(ddpm >= 5 && ddim >= 5 && cosineDdim >= 2, "ddpm " + ddpm + ", ddim " + ddim + ", cosine ddim " + cosineDdim);
        assertTrue(clipped > 0);
    }

    @Test
    void theRawTrainingWeightsFailOnValues() throws Exception {
        String name = "eps_learned_linear_p2";
        Safetensors.Contents v = vectors(name);
        DiTConfig config = configOf(v);
        Pretrained raw = Pretrained.load(TestFiles.resource("official/" + name + ".train.pt"), config, false, 0);
        assertEquals("model", raw.file().weightsKey());
        Verify.Report r = Verify.run(raw.model(), Verify.diffusionOf(v.metadata(), config), v.tensors(), Verify.DEFAULT_ATOL, Verify.DEFAULT_RTOL, l -> {});
        assertFalse(r.ok());
        assertTrue(r.errors().isEmpty(), r.errors().toString());
        assertTrue(r.lines().stream().anyMatch(l -> l.name().equals("forward.out") && !l.ok()));
        assertTrue(r.lines().stream().anyMatch(l -> l.name().equals("ddpm.sample") && !l.ok()));
    }

    @Test
    void aWrongDiffusionFlagFails() throws Exception {
        // The x_0-predicting model read as an eps model: the loss, pmv and sampling groups must notice.
        String name = "x0_learned_cosine_p2";
        Safetensors.Contents v = vectors(name);
        DiTConfig config = configOf(v);
        Map<String, String> meta = new java.util.HashMap<>(v.metadata());
        meta.put("predict_xstart", "false");
        Pretrained p = Pretrained.load(TestFiles.resource("official/" + name + ".safetensors"), config, true, 0);
        Verify.Report r = Verify.run(p.model(), Verify.diffusionOf(meta, config), v.tensors(), Verify.DEFAULT_ATOL, Verify.DEFAULT_RTOL, l -> {});
        assertFalse(r.ok());
        assertTrue(r.errors().isEmpty(), r.errors().toString());
        for (String key : List.of("loss.loss", "pmv.pred_xstart", "ddim.sample", "ddpm.sample")) {
            assertTrue(r.lines().stream().anyMatch(l -> l.name().equals(key) && !l.ok()), key + " should fail");
        }
        assertTrue(r.lines().stream().anyMatch(l -> l.name().equals("forward.out") && l.ok()));
    }

    @Test
    void badSamplingInputsAreNamed() throws Exception {
        String name = "eps_learned_linear_p2";
        Safetensors.Contents v = vectors(name);
        DiTConfig config = configOf(v);
        Pretrained p = Pretrained.load(TestFiles.resource("official/" + name + ".safetensors"), config, true, 0);
        Map<String, org.bytedeco.pytorch.Tensor> t = new java.util.LinkedHashMap<>(v.tensors());
        org.bytedeco.pytorch.Tensor noise = t.get("ddpm.noise");
        t.put("ddpm.noise", noise.narrow(0, 0, noise.size(0) - 1)); // one draw short
        t.put("ddim.clip_denoised", dit4j.runtime.Tensors.floats(new float[] {0.5f}, 1));
        Verify.Report r = Verify.run(p.model(), Verify.diffusionOf(v.metadata(), config), t, Verify.DEFAULT_ATOL, Verify.DEFAULT_RTOL, l -> {});
        assertFalse(r.ok());
        assertTrue(r.errors().stream().anyMatch(e -> e.startsWith("group 'ddpm'") && e.contains("'ddpm.noise'")), r.errors().toString());
        assertTrue(r.errors().stream().anyMatch(e -> e.startsWith("group 'ddim'") && e.contains("'ddim.clip_denoised'")), r.errors().toString());
    }

    @Test
    void theDdpmDrawsAreUsedInTheirOrder() throws Exception {
        String name = "eps_learned_linear_p2";
        Safetensors.Contents v = vectors(name);
        DiTConfig config = configOf(v);
        Pretrained p = Pretrained.load(TestFiles.resource("official/" + name + ".safetensors"), config, true, 0);
        Map<String, org.bytedeco.pytorch.Tensor> t = new java.util.LinkedHashMap<>();
        for (String k : v.tensors().keySet()) if (k.startsWith("ddpm.")) t.put(k, v.tensors().get(k));
        org.bytedeco.pytorch.Tensor noise = t.get("ddpm.noise").clone();
        org.bytedeco.pytorch.Tensor first = noise.select(0, 1).clone();
        noise.select(0, 1).copy_(noise.select(0, 2));
        noise.select(0, 2).copy_(first); // the first two steps' draws swapped
        t.put("ddpm.noise", noise);
        Verify.Report r = Verify.run(p.model(), Verify.diffusionOf(v.metadata(), config), t, Verify.DEFAULT_ATOL, Verify.DEFAULT_RTOL, l -> {});
        assertTrue(r.errors().isEmpty(), r.errors().toString());
        assertEquals(1, r.lines().size());
        assertFalse(r.lines().get(0).ok(), r.lines().toString());
    }

    @Test
    void badMetadataIsNamed() throws Exception {
        DiTConfig config = configOf(vectors("kl_learned_linear_p2"));
        Verify.VectorException e = org.junit.jupiter.api.Assertions.assertThrows(Verify.VectorException.class,
                () -> Verify.diffusionOf(Map.of("use_kl", "yes"), config));
        assertTrue(e.getMessage().contains("'use_kl'") && e.getMessage().contains("yes"), e.getMessage());
        DiffusionConfig defaults = Verify.diffusionOf(Map.of(), config);
        assertEquals(DiffusionConfig.defaults().withLearnSigma(config.learnSigma()), defaults);
    }
}
