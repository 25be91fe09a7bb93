package dit4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dit4j.io.CheckpointFile;
import dit4j.model.DiTConfig;
import dit4j.model.ModelStats;
import dit4j.model.Pretrained;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code dit info}: configuration, parameter count and Gflops of a model or checkpoint. */
@Command(name = "info", mixinStandardHelpOptions = true,
        description = "Print the configuration, parameter count and Gflops (multiply-adds of one forward pass) of a named or custom model, of a checkpoint, or of a VAE (--vae).")
public final class InfoCommand implements Callable<Integer> {
    @Mixin
    ModelOptions modelOptions;

    @Mixin
    InputSizeOptions size = new InputSizeOptions();

    @Option(names = "--checkpoint", description = "Describe this checkpoint instead (.pt or .safetensors).")
    Path checkpoint;

    @Option(names = "--json", description = "Print one JSON object.")
    boolean json;

    @Mixin
    VaeOptions vaeOptions = new VaeOptions();

    @Override
    public Integer call() throws Exception {
        if (vaeOptions.vae != null) return vaeInfo(vaeOptions.vaeConfig != null ? vaeOptions.vaeConfig : vaeOptions.vae);
        DiTConfig c;
        if (checkpoint != null) {
            CheckpointFile file = CheckpointFile.read(checkpoint, true);
            c = Pretrained.configOf(file, modelOptions.heads == null ? 0 : modelOptions.heads);
        } else {
            c = modelOptions.build(size.resolve(), 4, 1000);
        }
        long params = ModelStats.parameters(c);
        double gflops = ModelStats.gflops(c);
        if (json) {
            ObjectNode o = new ObjectMapper().createObjectNode();
            o.put("model", c.displayName());
            o.put("block", c.block().id());
            o.set("config", c.toJson());
            o.put("parameters", params);
            o.put("gflops", Math.round(gflops * 1000) / 1000.0);
            o.put("tokens", c.numPatches());
            System.out.println(o);
        } else {
            System.out.printf("model        %s%n", c.displayName());
            System.out.printf("input        %d x %d x %d (patch %d, %d tokens)%n", c.inChannels(), c.inputSize(), c.inputSize(), c.patchSize(), c.numPatches());
            System.out.printf("transformer  depth %d, hidden %d, heads %d, mlp ratio %s%n", c.depth(), c.hiddenSize(), c.numHeads(), c.mlpRatio());
            System.out.printf("blocks       %s%n", c.arch().describe());
            System.out.printf("classes      %d%s, learn sigma %s%n", c.numClasses(), c.hasNullClass() ? " + null class" : "", c.learnSigma());
            System.out.printf("parameters   %,d%n", params);
            System.out.printf("gflops       %.2f (multiply-adds per forward pass per image)%n", gflops);
        }
        return 0;
    }

    /** With --vae, the VAE's configuration (its folder's config.json, or --vae-config) and parameter count. */
    private int vaeInfo(Path vae) throws Exception {
        Path cfg = java.nio.file.Files.isDirectory(vae) ? vae.resolve("config.json") : vae;
        dit4j.vae.VaeConfig c = dit4j.vae.VaeFiles.readConfig(cfg);
        long params = dit4j.vae.VaeFiles.parameters(c);
        if (json) {
            ObjectNode o = new ObjectMapper().createObjectNode();
            o.set("config", c.toJson());
            o.put("parameters", params);
            o.put("downsampling", c.downsampling());
            System.out.println(o);
        } else {
            System.out.printf("VAE          AutoencoderKL, block_out_channels %s, %d layers per block, %d groups%n",
                    java.util.Arrays.toString(c.blockOutChannels()), c.layersPerBlock(), c.normNumGroups());
            System.out.printf("latents      %d channels, %dx smaller, scaling factor %s%n", c.latentChannels(), c.downsampling(), c.scalingFactor());
            System.out.printf("parameters   %,d%n", params);
        }
        return 0;
    }
}
