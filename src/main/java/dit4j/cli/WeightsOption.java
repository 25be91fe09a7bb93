package dit4j.cli;

import picocli.CommandLine.Option;

/** {@code --raw-weights}: which weights of a training checkpoint to use. */
public final class WeightsOption {
    @Option(names = "--raw-weights", description = "Use the trained weights ('model') of a training checkpoint instead of the EMA ('ema').")
    boolean rawWeights;

    boolean preferEma() {
        return !rawWeights;
    }
}
