package dit4j.model;

import static dit4j.runtime.TensorMath.cat;

import dit4j.runtime.Tensors;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/** Scalar diffusion timesteps to vectors: sinusoidal frequencies, then {@code Linear, SiLU, Linear}. */
public final class TimestepEmbedder extends Module {
    public static final int FREQUENCY_EMBEDDING_SIZE = 256;
    private static final double MAX_PERIOD = 10000;

    public final Linear mlp0;
    public final Linear mlp2;
    private final Module mlp;

    public TimestepEmbedder(int hidden) {
        mlp = register_module("mlp", new Module());
        mlp0 = mlp.register_module("0", new Linear(FREQUENCY_EMBEDDING_SIZE, hidden));
        mlp2 = mlp.register_module("2", new Linear(hidden, hidden));
    }

    /**
     * {@code [cos(t f), sin(t f)]} with {@code f_k = exp(-ln(10000) k / half)}, k < half = dim / 2,
     * evaluated in float32 in the official order.
     */
    public static Tensor timestepEmbedding(Tensor t, int dim) {
        int half = dim / 2;
        Tensor k = torch.arange(new Scalar(0), new Scalar(half), Tensors.options(ScalarType.Float));
        Tensor freqs = torch.exp(k.mul(new Scalar(-Math.log(MAX_PERIOD))).div(new Scalar(half))).to(t.device(), ScalarType.Float);
        Tensor args = t.unsqueeze(1).to(ScalarType.Float).mul(freqs.unsqueeze(0));
        Tensor embedding = cat(-1, torch.cos(args), torch.sin(args));
        if (dim % 2 == 1) {
            embedding = cat(-1, embedding, torch.zeros_like(embedding.narrow(1, 0, 1)));
        }
        return embedding;
    }

    public Tensor forward(Tensor t) {
        Tensor tFreq = timestepEmbedding(t, FREQUENCY_EMBEDDING_SIZE);
        return mlp2.forward(torch.silu(mlp0.forward(tFreq)));
    }

    void initialize(Generator g) {
        mlp0.xavierInit(g);
        mlp2.xavierInit(g);
        Init.normal(mlp0.weight, 0.02, g);
        Init.normal(mlp2.weight, 0.02, g);
    }
}
