package dit4j.runtime;

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
 */
public final class Step implements AutoCloseable {
    private final PointerScope scope;

    private Step() {
        this.scope = new PointerScope();
    }

    public static Step open() {
        return new Step();
    }

    @Override
    public void close() {
        scope.close();
    }
}
