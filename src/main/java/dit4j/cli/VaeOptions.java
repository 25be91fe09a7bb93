package dit4j.cli;

import java.nio.file.Path;
import picocli.CommandLine.Option;

/** {@code --vae} and {@code --vae-config}: the SD VAE of a latent model. */
public final class VaeOptions {
    @Option(names = "--vae", paramLabel = "DIR", description = "A VAE: a diffusers folder (config.json + diffusion_pytorch_model.safetensors or .bin), e.g. from `dit download sd-vae-ft-ema`, or a single weights file with --vae-config.")
    Path vae;

    @Option(names = "--vae-config", paramLabel = "FILE", description = "config.json for a --vae given as a single weights file.")
    Path vaeConfig;
}
