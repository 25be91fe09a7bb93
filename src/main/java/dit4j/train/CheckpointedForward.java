package dit4j.train;

import dit4j.model.DiT;
import dit4j.model.Block;
import dit4j.runtime.Precision;
import dit4j.runtime.Step;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.BoolOptional;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorArrayRefOptional;

/**
 * Gradient checkpointing for the DiT blocks: the forward pass keeps only each block's input, and
 * the backward pass recomputes one block at a time, so activation memory is one block's instead
 * of all of them, for the price of a second forward pass through the blocks.
 *
 * <p>Use: {@code out = forward(x, t, y)}; compute the loss from {@code out}; {@code loss.backward()};
 * then {@link #backwardThroughBlocks()} carries the gradient from the head back through the
 * blocks and into the embedders.
 */
final class CheckpointedForward {
    private final DiT model;
    private final Generator rng;
    private final Precision precision;
    private final List<Tensor> blockInputs = new ArrayList<>();
    private Tensor h0, h0Leaf, c, cLeaf, hStart, hLast;

    CheckpointedForward(DiT model, Generator rng, Precision precision) {
        this.model = model;
        this.rng = rng;
        this.precision = precision;
    }

    /** The model output, differentiable through the head only. */
    Tensor forward(Tensor x, Tensor t, Tensor y) {
        try (Precision.Region r = precision.autocast(x.device())) {
            h0 = model.embedPatches(x);
            c = model.conditioning(t, y);
            cLeaf = c.detach().requires_grad_(true);
            // In-context appends the t and y tokens here: a small graph of its own, run back last.
            h0Leaf = h0.detach().requires_grad_(true);
            hStart = model.enter(h0Leaf, cLeaf);
            Tensor h = hStart.detach();
            try (NoGradGuard g = new NoGradGuard()) {
                for (Block block : model.blocks) {
                    blockInputs.add(h);
                    Tensor in = h;
                    h = Step.nested(() -> block.forward(in, cLeaf));
                }
            }
            hLast = h.detach().requires_grad_(true);
            return model.head(hLast, cLeaf);
        }
    }

    /** After {@code loss.backward()}: recompute each block and propagate its gradient, then into the embedders. */
    void backwardThroughBlocks() {
        Tensor grad = hLast.grad();
        for (int i = model.blocks.size() - 1; i >= 0; i--) {
            Block block = model.blocks.get(i);
            Tensor in = blockInputs.get(i).detach().requires_grad_(true);
            Tensor upstream = grad;
            grad = Step.nested(() -> {
                try (Precision.Region r = precision.autocast(in.device())) {
                    block.forward(in, cLeaf).backward(upstream, new BoolOptional(), false, new TensorArrayRefOptional());
                }
                return in.grad();
            });
        }
        if (hStart != h0Leaf) {
            hStart.backward(grad, new BoolOptional(), false, new TensorArrayRefOptional());
            grad = h0Leaf.grad();
        }
        h0.backward(grad, new BoolOptional(), false, new TensorArrayRefOptional());
        c.backward(cLeaf.grad(), new BoolOptional(), false, new TensorArrayRefOptional());
    }
}
