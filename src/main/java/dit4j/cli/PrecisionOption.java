package dit4j.cli;

import dit4j.OptionException;
import dit4j.runtime.Precision;
import picocli.CommandLine.Option;

/** {@code --precision}: the compute precision of the model's matmuls. */
public final class PrecisionOption {
    @Option(names = "--precision", paramLabel = "P", description = "float32, or bfloat16 (autocast on the CPU or CUDA; on a CPU the fast path where it has native bf16). Default: float32 (dit demo: bfloat16 where the CPU has it natively).")
    String precision;

    @Option(names = "--dtype", hidden = true, description = "Old name of --precision.")
    void dtype(String p) {
        precision = p;
    }

    /** The chosen precision, or {@code fallback} when the flag was not given. */
    Precision orElse(Precision fallback) {
        if (precision == null) return fallback;
        try {
            return Precision.parse(precision);
        } catch (IllegalArgumentException e) {
            throw new OptionException("--precision: " + e.getMessage());
        }
    }
}
