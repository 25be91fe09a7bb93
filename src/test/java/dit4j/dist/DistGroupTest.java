package dit4j.dist;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dit4j.runtime.Tensors;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;

class DistGroupTest {

    @Test
    void collectivesOverTwoRanks() throws Exception {
        List<double[]> out = Loopback.run(2, g -> {
            Tensor t = Tensors.floats(new float[] {g.rank() + 1, 10 * (g.rank() + 1)}, 2);
            g.allReduceSum(t, "test sum");
            Tensor b = Tensors.floats(new float[] {g.rank() == 0 ? 7 : -1}, 1);
            g.broadcastFromRank0(b, "test broadcast");
            g.barrier("test barrier");
            String shared = g.shareFromRank0("x", () -> "from rank 0");
            assertEquals("from rank 0", shared);
            double[] r = Tensors.toDoubles(t);
            return new double[] {r[0], r[1], Tensors.toDoubles(b)[0]};
        });
        for (double[] r : out) assertArrayEquals(new double[] {3, 30, 7}, r);
    }

    @Test
    void gradientsAreAveragedAndDivergenceIsNamed() throws Exception {
        List<String> out = Loopback.run(2, g -> {
            // Three parameters over two buckets (a 16-byte bucket size forces a split).
            Tensor a = Tensors.floats(new float[] {1, 2, 3, 4}, 2, 2).requires_grad_(true);
            Tensor b = Tensors.floats(new float[] {5}, 1).requires_grad_(true);
            Tensor frozen = Tensors.floats(new float[] {9}, 1);
            DataParallel dp = new DataParallel(g, List.of(a, frozen, b), 16);
            assertEquals(2, dp.buckets());
            a.mul(Tensors.floats(new float[] {g.rank() + 1}, 1)).sum().add(b.mul(b).mul(Tensors.floats(new float[] {g.rank()}, 1)).sum()).backward();
            dp.averageGradients();
            assertArrayEquals(new double[] {1.5, 1.5, 1.5, 1.5}, Tensors.toDoubles(a.grad()));
            assertArrayEquals(new double[] {5}, Tensors.toDoubles(b.grad()));   // (0 + 2*5) / 2
            String same = dp.checkReplicas(List.of(a, b), 1);
            if (g.rank() == 1) {
                try (org.bytedeco.pytorch.NoGradGuard ng = new org.bytedeco.pytorch.NoGradGuard()) {
                    b.add_(Tensors.floats(new float[] {1e-6f}, 1));
                }
            }
            DistributedException e = assertThrows(DistributedException.class, () -> dp.checkReplicas(List.of(a, b), 2));
            assertTrue(e.getMessage().startsWith("replicas diverged at step 2: rank 1 differs from rank 0"), e.getMessage());
            assertArrayEquals(new boolean[] {true, false}, dp.anyAcross("test any", g.rank() == 1, false));
            assertArrayEquals(new double[] {1.5}, dp.meanAcross(new double[] {g.rank() + 1}, "test mean"));
            assertEquals(5, dp.minAcross(5 + 3L * g.rank(), "test min"));
            return same;
        });
        assertEquals(out.get(0), out.get(1));
    }

    @Test
    void environmentFollowsTorchrun() {
        assertEquals(DistEnv.SINGLE, DistEnv.fromEnv(Map.of()));
        DistEnv e = DistEnv.fromEnv(Map.of("RANK", "3", "WORLD_SIZE", "4", "LOCAL_RANK", "1", "LOCAL_WORLD_SIZE", "2", "MASTER_ADDR", "node0"));
        assertEquals(new DistEnv(3, 4, 1, 2, "node0", 29500, Duration.ofMinutes(5)), e);
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, () -> DistEnv.fromEnv(Map.of("RANK", "2", "WORLD_SIZE", "2")));
        assertEquals("RANK 2 is outside the world of 2", bad.getMessage());
    }
}
