package dit4j.train;

import dit4j.runtime.Step;
import dit4j.runtime.Tensors;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * AdamW with decoupled weight decay, step for step {@code torch.optim.AdamW} (single-tensor path),
 * on libtorch kernels.
 *
 * <p>The state (first and second moments, step counts) is held here rather than in libtorch's C++
 * optimizer because the Java binding does not expose that optimizer's state, and a checkpoint
 * must carry it in {@code torch.optim}'s own {@code state_dict} layout so that runs resume
 * exactly and move between dit4j and PyTorch.
 */
public final class AdamW {
    public double lr;
    public final double beta1, beta2, eps, weightDecay;

    /** Every model parameter in order (frozen ones too, as {@code model.parameters()} indexes them). */
    private final List<Tensor> params;
    private final Tensor[] expAvg;
    private final Tensor[] expAvgSq;
    private final long[] steps;

    /** Create outside any {@link dit4j.runtime.Step}: the moment buffers live as long as the optimizer. */
    public AdamW(List<Tensor> params, double lr, double beta1, double beta2, double eps, double weightDecay) {
        this.params = new ArrayList<>(params);
        this.lr = lr;
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
        int n = params.size();
        expAvg = new Tensor[n];
        expAvgSq = new Tensor[n];
        steps = new long[n];
        for (int i = 0; i < n; i++) {
            Tensor p = params.get(i);
            if (p.requires_grad()) {
                expAvg[i] = torch.zeros_like(p);
                expAvgSq[i] = torch.zeros_like(p);
            }
        }
    }

    /** The official optimizer: AdamW(lr=1e-4, weight_decay=0) with betas (0.9, 0.999), eps 1e-8. */
    public static AdamW of(List<Tensor> params, double lr, double weightDecay) {
        return new AdamW(params, lr, 0.9, 0.999, 1e-8, weightDecay);
    }

    /** One update of every parameter that has a gradient. Call inside the step's scope. */
    public void step() {
        try (NoGradGuard guard = new NoGradGuard()) {
            for (int i = 0; i < params.size(); i++) {
                Tensor p = params.get(i);
                if (expAvg[i] == null) continue;
                Tensor grad = p.grad();
                if (!grad.defined()) continue;
                long step = ++steps[i];
                int k = i;
                // One scope per parameter: its temporaries (denom) never pile up across the model.
                Step.nested(() -> update(p, grad, expAvg[k], expAvgSq[k], step));
            }
        }
    }

    private void update(Tensor p, Tensor grad, Tensor m, Tensor v, long step) {
        if (weightDecay != 0) p.mul_(new Scalar(1 - lr * weightDecay));
        m.lerp_(grad, new Scalar(1 - beta1));
        v.mul_(new Scalar(beta2)).addcmul_(grad, grad, new Scalar(1 - beta2));
        double biasCorrection1 = 1 - Math.pow(beta1, step);
        double biasCorrection2Sqrt = Math.sqrt(1 - Math.pow(beta2, step));
        Tensor denom = v.sqrt().div(new Scalar(biasCorrection2Sqrt)).add_(new Scalar(eps));
        p.addcdiv_(m, denom, new Scalar(-lr / biasCorrection1));
    }

    /**
     * Zeroes gradients in place ({@code zero_grad(set_to_none=False)}, PyTorch 1.x's default):
     * the gradient buffers are allocated once, and backward accumulates into them instead of
     * allocating a fresh set each step, which fragments the heap.
     */
    public void zeroGrad() {
        try (NoGradGuard guard = new NoGradGuard()) {
            for (Tensor p : params) {
                if (p.grad().defined()) p.grad().zero_();
            }
        }
    }

    // ------------------------------------------------------------ torch.optim state_dict layout

    /** {@code {"state": {i: {step, exp_avg, exp_avg_sq}}, "param_groups": [{lr, betas, ..., params}]}}. */
    public Map<String, Object> stateDict() {
        Map<Object, Object> state = new LinkedHashMap<>();
        for (int i = 0; i < params.size(); i++) {
            if (expAvg[i] == null || steps[i] == 0) continue;
            Map<String, Object> s = new LinkedHashMap<>();
            s.put("step", Tensors.floats(new float[] {steps[i]}));
            s.put("exp_avg", expAvg[i]);
            s.put("exp_avg_sq", expAvgSq[i]);
            state.put(i, s);
        }
        Map<String, Object> group = new LinkedHashMap<>();
        group.put("lr", lr);
        group.put("betas", new Object[] {beta1, beta2});
        group.put("eps", eps);
        group.put("weight_decay", weightDecay);
        group.put("amsgrad", false);
        group.put("foreach", null);
        group.put("maximize", false);
        group.put("capturable", false);
        group.put("differentiable", false);
        group.put("fused", null);
        List<Object> ids = new ArrayList<>();
        for (int i = 0; i < params.size(); i++) ids.add(i);
        group.put("params", ids);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("state", state);
        out.put("param_groups", List.of(group));
        return out;
    }

    /** Restores moments and step counts from a {@code torch.optim.AdamW} state dict (ours or PyTorch's). */
    public void loadStateDict(Map<?, ?> sd, String source) {
        if (!(sd.get("state") instanceof Map<?, ?> state)) throw new IllegalArgumentException(source + ": optimizer state has no 'state' dict");
        if (sd.get("param_groups") instanceof List<?> groups && !groups.isEmpty() && groups.get(0) instanceof Map<?, ?> g) {
            if (g.get("params") instanceof List<?> ids && ids.size() != params.size()) {
                throw new IllegalArgumentException(source + ": optimizer state is for " + ids.size() + " parameters, the model has " + params.size());
            }
        }
        try (NoGradGuard guard = new NoGradGuard()) {
            for (Map.Entry<?, ?> e : state.entrySet()) {
                int i = ((Number) e.getKey()).intValue();
                if (i < 0 || i >= params.size() || expAvg[i] == null) throw new IllegalArgumentException(source + ": optimizer state for parameter " + i + ", which is not trainable");
                Map<?, ?> s = (Map<?, ?>) e.getValue();
                Tensor m = (Tensor) s.get("exp_avg"), v = (Tensor) s.get("exp_avg_sq");
                if (!Tensors.sameShape(m, expAvg[i]) || !Tensors.sameShape(v, expAvgSq[i])) {
                    throw new IllegalArgumentException(source + ": optimizer state for parameter " + i + " has shape " + Tensors.shapeString(m) + ", the parameter " + Tensors.shapeString(expAvg[i]));
                }
                expAvg[i].copy_(m);
                expAvgSq[i].copy_(v);
                Object st = s.get("step");
                steps[i] = st instanceof Tensor t ? (long) Tensors.toDoubles(t)[0] : ((Number) st).longValue();
            }
        }
    }
}
