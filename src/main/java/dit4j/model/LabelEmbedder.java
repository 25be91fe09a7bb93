package dit4j.model;

import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Class labels to vectors. With label dropout the table has one more row, the null class
 * {@code numClasses}, used for classifier-free guidance.
 */
public final class LabelEmbedder extends Module {
    public final Tensor embeddingTable;
    public final int numClasses;
    public final double dropoutProb;
    private final Module table;
    /** Draws label dropout; the trainer's one generator, so draws come in the official order. */
    Generator dropoutRng;

    public LabelEmbedder(int numClasses, int hidden, double dropoutProb) {
        this.numClasses = numClasses;
        this.dropoutProb = dropoutProb;
        int rows = numClasses + (dropoutProb > 0 ? 1 : 0);
        table = register_module("embedding_table", new Module());
        embeddingTable = torch.empty(rows, hidden);
        table.register_parameter("weight", embeddingTable);
    }

    /**
     * Replaces each label by the null class with probability {@code dropoutProb}. The draw is made
     * on the CPU generator and then moved: a CPU generator cannot draw on CUDA, and so a seed
     * drops the same labels on every device.
     */
    public Tensor tokenDrop(Tensor labels, Generator rng) {
        Tensor drop = torch.rand(new long[] {labels.size(0)}, new GeneratorOptional(rng), new TensorOptions(ScalarType.Float))
                .lt(new Scalar(dropoutProb));
        return torch.where(dit4j.runtime.Devices.to(drop, labels.device()), new Scalar((long) numClasses), labels);
    }

    /** Embeds labels; in training mode with a dropout probability, drops them first, as the official {@code forward(labels, train)}. */
    public Tensor forward(Tensor labels) {
        if (is_training() && dropoutProb > 0) {
            if (dropoutRng == null) throw new IllegalStateException("label dropout in training mode needs a generator: call DiT.useGenerator first");
            labels = tokenDrop(labels, dropoutRng);
        }
        return torch.embedding(embeddingTable, labels);
    }

    void initialize(Generator g) {
        Init.normal(embeddingTable, 0.02, g);
    }
}
