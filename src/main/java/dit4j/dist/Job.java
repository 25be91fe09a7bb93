package dit4j.dist;

import dit4j.runtime.Devices;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import org.bytedeco.pytorch.Tensor;

/**
 * This process's place in a data-parallel job: its rank, the process group, and what only rank 0
 * does. {@link #SINGLE} is the one-process job, which needs no process group at all.
 */
public final class Job implements AutoCloseable {
    public static final Job SINGLE = new Job(DistEnv.SINGLE, null);

    private final DistEnv env;
    private final DistGroup group;

    private Job(DistEnv env, DistGroup group) {
        this.env = env;
        this.group = group;
    }

    /**
     * Joins the job {@code env} describes (rendezvous over its TCPStore), with NCCL on this rank's
     * GPU when {@code device} is CUDA, else Gloo; a one-process env joins nothing.
     */
    public static Job join(DistEnv env, String device) {
        if (!env.distributed()) return new Job(env, null);
        Launcher.watchLauncher(System.getenv());
        return new Job(env, DistGroup.join(env, Devices.isCuda(device) ? Devices.of(device(env, device)) : null));
    }

    /**
     * The device this rank computes on: plain {@code cuda} is {@code cuda:LOCAL_RANK} in a job (one
     * GPU per process, as with torchrun), {@code cuda:0} alone; {@code cpu} and {@code cuda:i} stand.
     */
    public String device(String device) {
        return device(env, device);
    }

    private static String device(DistEnv env, String device) {
        return device.equals("cuda") && env.distributed() ? "cuda:" + env.localRank() : device;
    }

    public int rank() {
        return env.rank();
    }

    public int worldSize() {
        return env.worldSize();
    }

    /** Rank 0 alone writes checkpoints, logs, plots and samples. */
    public boolean writes() {
        return env.rank() == 0;
    }

    /** Gradient averaging and replica checks for these parameters; null in a one-process job. */
    public DataParallel dataParallel(List<Tensor> params) {
        return group == null ? null : new DataParallel(group, params);
    }

    /** The sum of {@code v} over all ranks (a barrier too: every rank has got here). */
    public long sum(long v, String what) {
        if (group == null) return v;
        try (dit4j.runtime.Step s = dit4j.runtime.Step.open()) {
            Tensor t = dit4j.runtime.Tensors.longs(new long[] {v});
            group.allReduceSum(t, what);
            return t.item_long();
        }
    }

    /** A folder rank 0 makes (the run folder, numbered or checked for old checkpoints); the others get the same path. */
    public Path folderFromRank0(Callable<Path> rank0) throws Exception {
        if (group == null) return rank0.call();
        Exception[] failure = new Exception[1];
        String root = group.shareFromRank0("run_dir", () -> {
            try {
                return rank0.call().toAbsolutePath().toString();
            } catch (Exception e) {
                failure[0] = e;
                return "";
            }
        });
        if (failure[0] != null) throw failure[0];
        if (root.isEmpty()) throw new IllegalStateException("rank 0 could not create the run folder (see its error)");
        return Path.of(root);
    }

    /** After a successful run: waits for every rank, so that rank 0 (the store host) leaves last. */
    @Override
    public void close() {
        if (group != null) group.close();
    }
}
