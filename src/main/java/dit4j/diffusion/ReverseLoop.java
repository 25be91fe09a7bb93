package dit4j.diffusion;

import dit4j.runtime.Step;
import dit4j.runtime.Tensors;
import java.util.Arrays;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Tensor;

/** The loop shared by ancestral samplers: from the last index down to 0, one native scope per step. */
final class ReverseLoop {
    private ReverseLoop() {}

    @FunctionalInterface
    interface StepFn {
        /** x_{t-1} from x_t at schedule index t (a tensor of N equal indices). */
        Tensor apply(Tensor x, Tensor t);
    }

    /** 1 where t > 0, 0 at the last step (which adds no noise), shaped to broadcast against x. */
    static Tensor nonzeroMask(Tensor t, Tensor x) {
        return t.ne(new org.bytedeco.pytorch.Scalar(0)).to(x.scalar_type()).view(x.size(0), 1, 1, 1);
    }

    static Tensor run(int numTimesteps, Tensor noise, Sampler.Progress progress, StepFn step) {
        Tensor img = noise.clone();
        long n = noise.size(0);
        for (int i = numTimesteps - 1; i >= 0; i--) {
            try (Step s = Step.open(); InferenceMode guard = new InferenceMode()) {
                long[] idx = new long[(int) n];
                Arrays.fill(idx, i);
                img.copy_(step.apply(img, dit4j.runtime.Devices.to(Tensors.longs(idx), img.device())));
            }
            progress.onStep(numTimesteps - i, numTimesteps);
        }
        return img;
    }
}
