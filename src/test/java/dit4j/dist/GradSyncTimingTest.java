package dit4j.dist;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dit4j.model.DiT;
import dit4j.model.DiTConfig;
import dit4j.model.ModelStats;
import dit4j.io.StateDicts;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

/** The cost of one gradient averaging alone (no compute to wait for), for docs/distributed.md. */
class GradSyncTimingTest {
    @Test
    void averagingTheGradientsOfTheMeasuredModel() throws Exception {
        // The model of docs/distributed.md's measurement: depth 6, hidden 256, patch 2, 16x16x1.
        DiTConfig c = new DiTConfig(16, 2, 1, 256, 6, 4, 4.0, 0.1, 10, true);
        int reps = 10;
        List<double[]> ms = Loopback.run(2, g -> {
            DiT model = DiT.create(c, torch.createCPUGenerator(g.rank()));
            List<Tensor> params = new ArrayList<>(StateDicts.of(model).values());
            for (Tensor p : params) if (p.requires_grad()) p.mutable_grad().put(torch.ones_like(p));
            DataParallel dp = new DataParallel(g, params);
            dp.averageGradients();   // warm-up
            g.barrier("timing");
            long t0 = System.nanoTime();
            for (int i = 0; i < reps; i++) dp.averageGradients();
            return new double[] {(System.nanoTime() - t0) / 1e6 / reps, dp.buckets()};
        });
        System.out.printf("gradient averaging of %,d parameters (%d buckets) over 2 ranks on 127.0.0.1: %.1f ms (rank 0), %.1f ms (rank 1)%n",
                ModelStats.parameters(c), (int) ms.get(0)[1], ms.get(0)[0], ms.get(1)[0]);
        assertTrue(ms.get(0)[0] > 0);
    }
}
