package dit4j.runtime;

import java.util.function.Supplier;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerScope;

/**
 * The one place where native memory is owned per unit of work.
 *
 * <p>Every libtorch call returns a new native handle (a tensor, a vector, a scalar). Java's GC
 * does not see their size, so a loop that leaves them to the GC grows RSS until the process
 * dies. A {@code Step} frees every handle created inside it when it closes:
 *
 * <pre>{@code
 * for (int i = 0; i < steps; i++) {
 *   try (Step step = Step.open()) {
 *     Tensor loss = ...;            // intermediates die at close
 *     state.copy_(next);            // results survive by being copied into long-lived tensors
 *     value = loss.item_float();    // or read out as Java values before close
 *   }
 * }
 * }</pre>
 *
 * Long-lived tensors (parameters, optimizer state, sampler state) are created outside any step.
 *
 * <p>Inside a step, {@link #nested} frees a sub-computation's temporaries as soon as it returns
 * (a transformer block's, say), keeping only its result: without it every intermediate of a
 * forward pass would live until the step ends, which for inference is many times the memory
 * PyTorch's reference counting needs. Tensors that autograd saved for the backward pass stay
 * alive regardless, through libtorch's own references.
 */
public final class Step implements AutoCloseable {
    private final PointerScope scope;

    private Step() {
        this.scope = new PointerScope();
    }

    public static Step open() {
        return new Step();
    }

    /**
     * Runs {@code work} in its own scope and hands its result to the enclosing scope; everything
     * else {@code work} allocated is freed on return. Outside any scope it just runs {@code work}.
     */
    public static <T extends Pointer> T nested(Supplier<T> work) {
        PointerScope outer = PointerScope.getInnerScope();
        if (outer == null) return work.get();
        T result;
        try (PointerScope inner = new PointerScope()) {
            result = work.get();
            outer.attach(result);
        }
        return result;
    }

    /** Runs {@code work} in its own scope, freeing everything it allocated on return. */
    public static void nested(Runnable work) {
        try (PointerScope inner = new PointerScope()) {
            work.run();
        }
    }

    @Override
    public void close() {
        scope.close();
    }
}
