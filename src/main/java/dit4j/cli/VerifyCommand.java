package dit4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dit4j.diffusion.DiffusionConfig;
import dit4j.eval.Verify;
import dit4j.io.Safetensors;
import dit4j.model.DiTConfig;
import dit4j.model.Pretrained;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code dit verify}: check a checkpoint against PyTorch test vectors. */
@Command(name = "verify", mixinStandardHelpOptions = true,
        description = {"Run every group of a test-vector file (forward, cfg, loss, grad, pmv, ddim, ddpm; with --vae the VAE groups) and compare with the expected tensors.",
                "Prints one line per tensor with its max absolute and relative error; exits 1 if any is outside |got - want| <= atol + rtol |want|."})
public final class VerifyCommand implements Callable<Integer> {
    @Option(names = "--checkpoint", description = "The DiT weights: a .pt state dict, a .pt training checkpoint (ema is used) or a .safetensors file.")
    Path checkpoint;

    @Mixin
    VaeOptions vaeOptions = new VaeOptions();

    @Option(names = "--inception", description = "Verify the FID Inception network instead: pytorch-fid's weights file (pt_inception-2015-12-05-6726825d.pth) or one in its layout.")
    Path inception;

    @Option(names = "--vectors", required = true, description = "The test-vector file (safetensors, see docs/test-vectors.md).")
    Path vectors;

    @Option(names = "--atol", defaultValue = "1e-4", description = "Absolute tolerance (default ${DEFAULT-VALUE}).")
    double atol;

    @Option(names = "--rtol", defaultValue = "1e-3", description = "Relative tolerance (default ${DEFAULT-VALUE}).")
    double rtol;

    @Mixin
    WeightsOption weights = new WeightsOption();

    @Override
    public Integer call() throws Exception {
        Safetensors.Contents v = Safetensors.read(vectors);
        if (vaeOptions.vae != null) return verifyVae(v, vaeOptions.vae);
        if (inception != null) {
            System.out.printf("verifying Inception %s against %s%n", inception.getFileName(), vectors.getFileName());
            return summary(dit4j.eval.InceptionVerify.run(dit4j.eval.InceptionV3.load(inception), v.tensors(), atol, rtol, line -> System.out.println(line)));
        }
        if (checkpoint == null) throw new IllegalArgumentException("give --checkpoint (DiT groups), --vae (VAE groups) or --inception (Inception groups)");
        String modelJson = v.metadata().get("model");
        if (modelJson == null) throw new IllegalArgumentException(vectors + ": metadata has no 'model' configuration");
        JsonNode node = new ObjectMapper().readTree(modelJson);
        DiTConfig config = DiTConfig.fromJson(node);
        DiffusionConfig diffusion = Verify.diffusionOf(v.metadata(), config);
        Pretrained p = Pretrained.load(checkpoint, config, weights.preferEma(), 0);
        System.out.printf("verifying %s (%s, from %s) against %s%n", checkpoint.getFileName(), config.displayName(),
                p.file().weightsKey().isEmpty() ? "state dict" : "'" + p.file().weightsKey() + "'", vectors.getFileName());
        Verify.Report report = Verify.run(p.model(), diffusion, v.metadata(), v.tensors(), atol, rtol, line -> System.out.println(line));
        return summary(report);
    }

    private int verifyVae(Safetensors.Contents v, Path vae) throws Exception {
        dit4j.vae.AutoencoderKL model = dit4j.vae.VaeFiles.load(vae, vaeOptions.vaeConfig);
        String meta = v.metadata().get("vae");
        if (meta != null) {
            dit4j.vae.VaeConfig declared = dit4j.vae.VaeConfig.fromJson(new ObjectMapper().readTree(meta));
            if (!declared.equals(model.config)) {
                throw new IllegalArgumentException(vectors + ": its 'vae' configuration does not match " + vae + "'s config.json");
            }
        }
        System.out.printf("verifying VAE %s against %s%n", vae, vectors.getFileName());
        return summary(Verify.runVae(model, v.tensors(), atol, rtol, line -> System.out.println(line)));
    }

    private int summary(Verify.Report report) {
        for (String e : report.errors()) System.out.println("FAIL " + e);
        long failed = report.lines().stream().filter(l -> !l.ok()).count();
        System.out.printf("%s: %d tensors in %d groups (%s), %d outside atol %.0e + rtol %.0e, %d groups not computed%n",
                report.ok() ? "PASS" : "FAIL", report.lines().size(), report.groups().size(), String.join(", ", report.groups()),
                failed, atol, rtol, report.errors().size());
        return report.ok() ? 0 : 1;
    }
}
