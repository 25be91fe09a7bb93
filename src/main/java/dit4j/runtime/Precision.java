package dit4j.runtime;

import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.DeviceType;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Compute precision of the model's matmuls. {@code bfloat16} runs the forward pass under
 * libtorch's autocast for the device computing it, CPU or CUDA (matmuls and attention in bfloat16,
 * reductions and the loss in float32, parameters and gradients stay float32); {@code float32} is exact.
 */
public enum Precision {
    FLOAT32, BFLOAT16;

    public static Precision parse(String s) {
        switch (s.toLowerCase(java.util.Locale.ROOT)) {
            case "float32": case "fp32": return FLOAT32;
            case "bfloat16": case "bf16": return BFLOAT16;
            default: throw new IllegalArgumentException("unknown precision '" + s + "': expected float32 or bfloat16");
        }
    }

    /**
     * bfloat16 where the CPU computes it natively (AVX512-BF16 or AMX), float32 elsewhere: emulated
     * bfloat16 is slower than float32.
     */
    public static Precision fastestOnThisCpu() {
        try {
            String info = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/cpuinfo"));
            return info.contains("avx512_bf16") || info.contains("amx_bf16") ? BFLOAT16 : FLOAT32;
        } catch (java.io.IOException | RuntimeException e) {
            return FLOAT32;
        }
    }

    public String label() {
        return this == FLOAT32 ? "float32" : "bfloat16";
    }

    /** A region of autocast; closing it restores the previous state. */
    public interface Region extends AutoCloseable {
        @Override
        void close();
    }

    /** Turns CPU autocast on for this thread until closed (a no-op for float32). */
    public Region autocast() {
        return autocast(Tensors.CPU);
    }

    /**
     * Turns autocast on for this thread and the type of {@code device} until closed (a no-op for
     * float32): autocast is per device type, and a CUDA forward pass ignores CPU autocast.
     */
    public Region autocast(Device device) {
        if (this == FLOAT32) return () -> {};
        DeviceType type = device.is_cuda() ? DeviceType.CUDA : DeviceType.CPU;
        boolean before = torch.is_autocast_enabled(type);
        // The binding cannot clear autocast's weight-cast cache, and a cache that outlives a step
        // would hold stale bfloat16 copies of updated weights: run without it.
        torch.set_autocast_cache_enabled(false);
        torch.set_autocast_dtype(type, ScalarType.BFloat16);
        torch.set_autocast_enabled(type, true);
        return () -> torch.set_autocast_enabled(type, before);
    }
}
