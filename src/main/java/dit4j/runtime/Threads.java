package dit4j.runtime;

import org.bytedeco.pytorch.global.torch;

/**
 * CPU thread policy.
 *
 * <p>The libtorch build of the JavaCPP presets uses OpenBLAS with its own pthread pool (not
 * OpenMP). When libtorch's OpenMP intra-op threads call BLAS from inside a parallel region (the
 * attention kernels and batched matmuls do), the two pools oversubscribe the cores: measured on 2
 * cores, SDPA forward+backward took 146 ms with 2+2 threads against 16 ms with BLAS alone
 * threaded. So for float32 libtorch runs its own loops on one thread and leaves the cores to
 * OpenBLAS, which parallelises every matmul ({@code OPENBLAS_NUM_THREADS}, default: all cores).
 * bfloat16 matmuls run on oneDNN, which uses libtorch's own threads and never nests OpenBLAS, so
 * for bfloat16 libtorch gets every core. {@code DIT_INTRA_OP_THREADS} overrides both.
 * {@code DIT_CORES} is this process's share of the cores (the data-parallel launcher sets it,
 * with {@code OPENBLAS_NUM_THREADS}, to cores / workers).
 */
public final class Threads {
    private Threads() {}

    private static volatile boolean configured;

    public static synchronized void configureDefault() {
        if (configured) return;
        Natives.load();
        String env = System.getenv("DIT_INTRA_OP_THREADS");
        int intra = env != null && !env.isBlank() ? Integer.parseInt(env.trim()) : 1;
        torch.set_num_threads(Math.max(1, intra));
        configured = true;
    }

    /** The intra-op thread count for a precision (see above). */
    public static void configureFor(Precision p) {
        String env = System.getenv("DIT_INTRA_OP_THREADS");
        if (env != null && !env.isBlank()) return;
        torch.set_num_threads(p == Precision.BFLOAT16 ? cores() : 1);
        configured = true;
    }

    /** The cores this process may use: DIT_CORES when set, else all. */
    public static int cores() {
        String env = System.getenv("DIT_CORES");
        if (env != null && !env.isBlank()) return Math.max(1, Integer.parseInt(env.trim()));
        return Runtime.getRuntime().availableProcessors();
    }
}
