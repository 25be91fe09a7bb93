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
        description = "Print the configuration, parameter count and Gflops (multiply-adds of one forward pass) of a named or custom model, or of a checkpoint.")
public final class InfoCommand implements Callable<Integer> {
    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--image-size", description = "Image size in pixels of a latent model: input size = image size / 8 (default 256).")
    Integer imageSize;

    @Option(names = "--input-size", description = "Input size of the model itself (for a pixel-space model).")
    Integer inputSize;

    @Option(names = "--checkpoint", description = "Describe this checkpoint instead (.pt or .safetensors).")
    Path checkpoint;

    @Option(names = "--json", description = "Print one JSON object.")
    boolean json;

    @Option(names = "--vae", description = "Describe a VAE folder instead (config.json): configuration and parameter count.")
    Path vae;

    @Override
    public Integer call() throws Exception {
        if (vae != null) return vaeInfo();
        DiTConfig c;
        if (checkpoint != null) {
            CheckpointFile file = CheckpointFile.read(checkpoint, true);
            c = Pretrained.configOf(file, modelOptions.heads == null ? 0 : modelOptions.heads);
        } else {
            int input = inputSize != null ? inputSize : ModelOptions.latentSize(imageSize != null ? imageSize : 256);
            c = modelOptions.build(input, 4, 1000);
        }
        long params = ModelStats.parameters(c);
        double gflops = ModelStats.gflops(c);
        if (json) {
            ObjectNode o = new ObjectMapper().createObjectNode();
            o.put("model", c.displayName());
            o.set("config", c.toJson());
            o.put("parameters", params);
            o.put("gflops", Math.round(gflops * 1000) / 1000.0);
            o.put("tokens", c.numPatches());
            System.out.println(o);
        } else {
            System.out.printf("model        %s%n", c.displayName());
            System.out.printf("input        %d x %d x %d (patch %d, %d tokens)%n", c.inChannels(), c.inputSize(), c.inputSize(), c.patchSize(), c.numPatches());
            System.out.printf("transformer  depth %d, hidden %d, heads %d, mlp ratio %s%n", c.depth(), c.hiddenSize(), c.numHeads(), c.mlpRatio());
            System.out.printf("classes      %d%s, learn sigma %s%n", c.numClasses(), c.hasNullClass() ? " + null class" : "", c.learnSigma());
            System.out.printf("parameters   %,d%n", params);
            System.out.printf("gflops       %.2f (multiply-adds per forward pass per image)%n", gflops);
        }
        return 0;
    }

    private int vaeInfo() throws Exception {
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
