package dit4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dit4j.TestFiles;
import dit4j.io.Safetensors;
import dit4j.runtime.Tensors;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;

/** ShardedSampler and DataLoader against torch.utils.data.DistributedSampler (official/distributed_sampler.safetensors). */
class ShardedSamplerTest {
    static final Pattern KEY = Pattern.compile("n(\\d+)_seed(\\d+)_world(\\d+)_rank(\\d+)_epoch(\\d+)");

    @Test
    void matchesDistributedSamplerForEverySeedEpochWorldAndRank() throws Exception {
        Map<String, Tensor> v = Safetensors.read(TestFiles.resource("official/distributed_sampler.safetensors")).tensors();
        assertTrue(v.size() > 40);
        for (Map.Entry<String, Tensor> e : v.entrySet()) {
            Matcher m = KEY.matcher(e.getKey());
            assertTrue(m.matches(), e.getKey());
            int size = Integer.parseInt(m.group(1)), world = Integer.parseInt(m.group(3)), rank = Integer.parseInt(m.group(4));
            ShardedSampler s = new ShardedSampler(size, Long.parseLong(m.group(2)), rank, world);
            long[] want = Tensors.toLongs(e.getValue());
            assertEquals(want.length, s.perRank(), e.getKey());
            assertArrayEquals(want, Arrays.stream(s.epoch(Long.parseLong(m.group(5)))).asLongStream().toArray(), e.getKey());
        }
    }

    @Test
    void ranksSplitOnePermutationPaddedToEqualShares() {
        int size = 10, world = 4; // 12 slots: the first two indices of the permutation are repeated
        List<Integer> all = new ArrayList<>();
        for (int r = 0; r < world; r++) for (int i : new ShardedSampler(size, 3, r, world).epoch(2)) all.add(i);
        assertEquals(12, all.size());
        assertEquals(10, all.stream().distinct().count());
        assertNotEquals(Arrays.toString(new ShardedSampler(size, 3, 0, 1).epoch(0)), Arrays.toString(new ShardedSampler(size, 3, 0, 1).epoch(1)),
                "each epoch reshuffles");
    }

    /** An in-memory dataset whose image i is filled with the value i. */
    static ImageDataset numbered(int n) {
        return new ImageDataset() {
            public int size() { return n; }
            public int channels() { return 1; }
            public int imageSize() { return 2; }
            public int numClasses() { return 3; }
            public List<String> classNames() { return List.of("a", "b", "c"); }
            public int label(int index) { return index % 3; }
            public void read(int index, boolean flip, float[] out, int offset) { Arrays.fill(out, offset, offset + 4, index); }
            public String describe(int index) { return "#" + index; }
        };
    }

    @Test
    void theLoaderServesTheSamplerOrderInFullBatchesAndSeeksExactly() throws Exception {
        int n = 23, batch = 4, world = 2, rank = 1;
        ShardedSampler s = new ShardedSampler(n, 7, rank, world);
        try (DataLoader loader = new DataLoader(numbered(n), batch, 7, rank, world, false, 1)) {
            assertEquals(3, loader.batchesPerEpoch()); // 12 per rank, the partial 4th batch is dropped
            for (long epoch = 0; epoch < 2; epoch++) {
                int[] order = s.epoch(epoch);
                for (int b = 0; b < 3; b++) {
                    DataLoader.Batch got = loader.next();
                    assertEquals(epoch, got.epoch());
                    assertEquals(b, got.indexInEpoch());
                    for (int i = 0; i < batch; i++) {
                        int id = order[b * batch + i];
                        assertEquals(id, (int) got.x()[i * 4], "epoch " + epoch + " batch " + b + " item " + i);
                        assertEquals(id % 3, got.y()[i]);
                    }
                }
            }
            loader.seek(1, 2);
            DataLoader.Batch again = loader.next();
            assertEquals(1, again.epoch());
            assertEquals(s.epoch(1)[8], (int) again.x()[0]);
            loader.seek(0, 4); // past the end of epoch 0: batch 1 of epoch 1
            assertEquals(s.epoch(1)[4], (int) loader.next().x()[0]);
        }
    }
}
