package dit4j.train;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;

/** Exponential moving average of the weights: {@code ema <- decay * ema + (1 - decay) * param}. */
public final class Ema {
    private final List<Tensor> ema;
    private final List<Tensor> params;

    /** Pairs the EMA model's parameters with the trained model's, in the same order. */
    public Ema(List<Tensor> emaParams, List<Tensor> modelParams) {
        if (emaParams.size() != modelParams.size()) throw new IllegalArgumentException("EMA and model differ in parameter count");
        this.ema = new ArrayList<>(emaParams);
        this.params = new ArrayList<>(modelParams);
    }

    public void update(double decay) {
        try (NoGradGuard guard = new NoGradGuard()) {
            Scalar weight = new Scalar(1 - decay);
            for (int i = 0; i < ema.size(); i++) ema.get(i).lerp_(params.get(i), weight);
        }
    }

    /** Copies the model into the EMA ({@code update_ema(decay=0)} at the start of training). */
    public void copyFromModel() {
        try (NoGradGuard guard = new NoGradGuard()) {
            for (int i = 0; i < ema.size(); i++) ema.get(i).copy_(params.get(i));
        }
    }
}
