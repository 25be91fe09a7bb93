package dit4j.model;

import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.Tensor;

/** The initialisers the official code uses, drawing from a given generator so that a seed fixes the weights. */
final class Init {
    private Init() {}

    /** torch.nn.init.xavier_uniform_: U(-a, a) with a = sqrt(6 / (fan_in + fan_out)). */
    static void xavierUniform(Tensor w, long fanIn, long fanOut, Generator g) {
        double a = Math.sqrt(6.0 / (fanIn + fanOut));
        w.uniform_(-a, a, new GeneratorOptional(g));
    }

    static void normal(Tensor w, double std, Generator g) {
        w.normal_(0.0, std, new GeneratorOptional(g));
    }
}
