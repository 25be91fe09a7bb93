package dit4j.dist;

import dit4j.runtime.Natives;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import org.bytedeco.javacpp.chrono.Milliseconds;
import org.bytedeco.pytorch.AllreduceOptions;
import org.bytedeco.pytorch.Backend;
import org.bytedeco.pytorch.BarrierOptions;
import org.bytedeco.pytorch.BroadcastOptions;
import org.bytedeco.pytorch.ByteVector;
import org.bytedeco.pytorch.ProcessGroupGloo;
import org.bytedeco.pytorch.ReduceOp;
import org.bytedeco.pytorch.TCPStore;
import org.bytedeco.pytorch.TCPStoreOptions;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.Work;

/**
 * A c10d process group: rendezvous through a {@link TCPStore} hosted by rank 0, collectives on
 * Gloo (CPU) or NCCL (CUDA), all bounded by one timeout. A collective that fails (a peer's
 * connection closed, or the timeout passed) becomes a {@link DistributedException} naming the
 * ranks that stopped sending heartbeats, when the store can still tell.
 *
 * <p>c10d objects hold their Store through an intrusive pointer, and handing one Java Store to
 * two native constructors aborts; so the backend, the heartbeat and the control channel each get
 * their own Store object (clients of the same server). The collectives go straight to the one
 * {@link Backend}; a {@code ProcessGroup} wrapper would only dispatch to it.
 */
public final class DistGroup implements AutoCloseable {
    private static final String PREFIX = "dit4j/";

    /**
     * Every store and backend ever made, held for the life of the JVM. Left to the GC, JavaCPP
     * frees a c10d object at some later collection, while Gloo's threads or another object may
     * still hold it: libtorch then aborts the process (seen as a random crash in a later test).
     * A process makes one group in practice, so keeping them costs nothing.
     */
    private static final List<Object> NEVER_FREED = java.util.Collections.synchronizedList(new ArrayList<>());

    private final DistEnv env;
    private final TCPStore backendStore;
    private final TCPStore control;
    private final Backend backend;
    private final Thread heartbeat;
    /** NCCL's device (this rank's GPU), or null on Gloo. */
    private final org.bytedeco.pytorch.Device device;
    private volatile boolean closed;
    private volatile boolean failed;

    private DistGroup(DistEnv env, TCPStore backendStore, TCPStore control, Backend backend, Thread heartbeat, org.bytedeco.pytorch.Device device) {
        this.env = env;
        this.device = device;
        this.backendStore = backendStore;
        this.control = control;
        this.backend = backend;
        this.heartbeat = heartbeat;
    }

    /**
     * Joins the job described by {@code env}: rank 0 hosts the store; every rank waits (up to the
     * timeout) until all have joined, then builds the backend.
     *
     * @param cuda NCCL on {@code cuda:LOCAL_RANK} instead of Gloo (needs the GPU natives; not run on this build)
     */
    public static DistGroup join(DistEnv env, boolean cuda) {
        return join(env, cuda ? new org.bytedeco.pytorch.Device("cuda:" + env.localRank()) : null);
    }

    /** Joins with NCCL on {@code cudaDevice} (this rank's GPU; not run on this build), or with Gloo when it is null. */
    public static DistGroup join(DistEnv env, org.bytedeco.pytorch.Device cudaDevice) {
        boolean cuda = cudaDevice != null;
        if (!env.distributed()) throw new IllegalArgumentException("world size 1 needs no process group");
        Natives.load();
        String where = env.masterAddr() + ":" + env.masterPort();
        String me = "rank " + env.rank() + "/" + env.worldSize();
        TCPStore backendStore, control, beat;
        // Under torchrun the agent already hosts the store on MASTER_PORT and says so, as it does for Python's env://.
        boolean host = env.rank() == 0 && !"true".equalsIgnoreCase(System.getenv("TORCHELASTIC_USE_AGENT_STORE"));
        try {
            backendStore = store(env, host);
            control = store(env, false);
            beat = store(env, false);
        } catch (RuntimeException e) {
            throw new DistributedException(me + ": cannot " + (host ? "host" : "reach") + " the rendezvous store at " + where
                    + " within " + seconds(env.timeout()) + ": " + firstLine(e.getMessage()), e);
        }
        // Rendezvous: count in, then wait for everyone, so a missing rank is named by the count.
        long deadline = System.nanoTime() + env.timeout().toNanos();
        control.add(PREFIX + "joined", 1);
        long joined;
        while ((joined = control.add(PREFIX + "joined", 0)) < env.worldSize()) {
            if (System.nanoTime() > deadline) {
                throw new DistributedException(me + ": only " + joined + " of " + env.worldSize() + " ranks joined the rendezvous at " + where + " within " + seconds(env.timeout()));
            }
            sleep(20);
        }
        Backend backend;
        try {
            backend = cuda ? nccl(backendStore, env) : gloo(backendStore, env);
        } catch (RuntimeException e) {
            throw new DistributedException(me + ": could not create the " + (cuda ? "NCCL" : "Gloo") + " process group: " + firstLine(e.getMessage()), e);
        }
        NEVER_FREED.add(backend);
        Thread hb = new Thread(() -> beat(beat, env), "dit4j-heartbeat");
        hb.setDaemon(true);
        DistGroup g = new DistGroup(env, backendStore, control, backend, hb, cudaDevice);
        hb.start();
        return g;
    }

    private static TCPStore store(DistEnv env, boolean server) {
        TCPStoreOptions o = new TCPStoreOptions();
        o.port((short) env.masterPort());   // a Java short; the bits are the unsigned port
        o.isServer(server);
        o.waitWorkers(false);
        o.timeout(new Milliseconds(env.timeout().toMillis()));
        TCPStore store = new TCPStore(env.masterAddr(), o);
        NEVER_FREED.add(store);
        return store;
    }

    private static Backend gloo(TCPStore store, DistEnv env) {
        ProcessGroupGloo.Options o = ProcessGroupGloo.Options.create(new Milliseconds(env.timeout().toMillis()));
        String ifname = System.getenv("GLOO_SOCKET_IFNAME");
        org.bytedeco.pytorch.gloo.Device device;
        if (ifname != null && !ifname.isBlank()) device = ProcessGroupGloo.createDeviceForInterface(ifname.trim());
        else if (isLoopback(env.masterAddr())) device = ProcessGroupGloo.createDeviceForHostname("127.0.0.1");
        else device = ProcessGroupGloo.createDefaultDevice();
        o.devices().push_back(device);
        return new ProcessGroupGloo(store, env.rank(), env.worldSize(), o);
    }

    // Only reached with --device cuda, which needs the linux-x86_64-gpu natives: not run here.
    private static Backend nccl(TCPStore store, DistEnv env) {
        if (!org.bytedeco.pytorch.global.torch.cuda_is_available()) {
            throw new IllegalStateException("NCCL needs CUDA, and these natives have none (the GPU build is the linux-x86_64-gpu classifier)");
        }
        org.bytedeco.pytorch.nccl.ProcessGroupNCCL.Options o = org.bytedeco.pytorch.nccl.ProcessGroupNCCL.Options.create();
        org.bytedeco.pytorch.nccl.ProcessGroupNCCL pg = new org.bytedeco.pytorch.nccl.ProcessGroupNCCL(store, env.rank(), env.worldSize(), o);
        pg.setTimeout(new Milliseconds(env.timeout().toMillis()));
        return pg;
    }

    static boolean isLoopback(String host) {
        return host.equals("localhost") || host.startsWith("127.") || host.equals("::1");
    }

    /** Counts up once a second, so that after a failure the others can tell who stopped. */
    private static void beat(TCPStore store, DistEnv env) {
        String key = PREFIX + "alive/" + env.rank();
        try {
            while (true) {
                store.add(key, 1);
                Thread.sleep(1000);
            }
        } catch (InterruptedException | RuntimeException e) {
            // closed, or the store host is gone: the failure surfaces in the next collective
        }
    }

    public DistEnv env() {
        return env;
    }

    public int rank() {
        return env.rank();
    }

    public int worldSize() {
        return env.worldSize();
    }

    // ------------------------------------------------------------------ collectives

    /** Sums {@code t} in place over all ranks. */
    public void allReduceSum(Tensor t, String what) {
        AllreduceOptions o = new AllreduceOptions();
        o.reduceOp(new ReduceOp(ReduceOp.RedOpType.SUM));
        onBackend(t, d -> run(what, () -> backend.allreduce(new TensorVector(d), o)));
    }

    /** Element-wise maximum of {@code t} in place over all ranks. */
    public void allReduceMax(Tensor t, String what) {
        AllreduceOptions o = new AllreduceOptions();
        o.reduceOp(new ReduceOp(ReduceOp.RedOpType.MAX));
        onBackend(t, d -> run(what, () -> backend.allreduce(new TensorVector(d), o)));
    }

    /** Overwrites {@code t} on every rank with rank 0's values. */
    public void broadcastFromRank0(Tensor t, String what) {
        BroadcastOptions o = new BroadcastOptions();
        o.rootRank(0);
        onBackend(t, d -> run(what, () -> backend.broadcast(new TensorVector(d), o)));
    }

    /**
     * Runs a collective on {@code t}, or, on NCCL, which takes CUDA tensors only, on a device copy
     * of a CPU tensor (a stop flag, a count, the logged loss) that is then copied back.
     */
    private void onBackend(Tensor t, java.util.function.Consumer<Tensor> collective) {
        if (device == null || !t.device().is_cpu()) {
            collective.accept(t);
            return;
        }
        try (dit4j.runtime.Step s = dit4j.runtime.Step.open()) {
            Tensor d = t.to(device, t.scalar_type());
            collective.accept(d);
            t.copy_(d);
        }
    }

    public void barrier(String what) {
        run(what, () -> backend.barrier(new BarrierOptions()));
    }

    /** A string rank 0 computes and every rank receives (a run folder's path, say). */
    public String shareFromRank0(String key, Supplier<String> onRank0) {
        String k = PREFIX + "shared/" + key;
        try {
            if (env.rank() == 0) {
                String v = onRank0.get();
                control.set(k, new ByteVector(v.getBytes(StandardCharsets.UTF_8)));
                return v;
            }
            ByteVector v = control.get(k);   // waits up to the store's timeout
            byte[] b = new byte[(int) v.size()];
            for (int i = 0; i < b.length; i++) b[i] = v.get(i);
            return new String(b, StandardCharsets.UTF_8);
        } catch (RuntimeException e) {
            if (e instanceof DistributedException) throw e;
            throw lost("receiving '" + key + "' from rank 0", e);
        }
    }

    private void run(String what, Supplier<Work> op) {
        if (failed) throw new DistributedException("rank " + env.rank() + "/" + env.worldSize() + ": " + what + ": the process group already failed");
        try {
            Work w = op.get();
            w._wait();
        } catch (RuntimeException e) {
            failed = true;
            throw lost(what, e);
        }
    }

    /** One line naming the failure and, when the store still answers, the ranks whose heartbeat stopped. */
    private DistributedException lost(String what, RuntimeException e) {
        failed = true;
        String me = "rank " + env.rank() + "/" + env.worldSize();
        String cause = firstLine(e.getMessage());
        String who;
        try {
            long[] before = heartbeats();
            sleep(2500);
            long[] after = heartbeats();
            List<Integer> stopped = new ArrayList<>();
            for (int r = 0; r < env.worldSize(); r++) if (r != env.rank() && after[r] == before[r]) stopped.add(r);
            who = stopped.isEmpty() ? "every rank still answers (one may be stuck or have failed differently)"
                    : (stopped.size() == 1 ? "lost rank " + stopped.get(0) : "lost ranks " + stopped) + " (no heartbeat)";
        } catch (RuntimeException storeGone) {
            who = env.rank() == 0 ? "the store is unreachable" : "lost rank 0 (the store host at " + env.masterAddr() + ":" + env.masterPort() + " is unreachable)";
        }
        return new DistributedException(me + ": " + what + " failed: " + who + ": " + cause, e);
    }

    private long[] heartbeats() {
        long[] out = new long[env.worldSize()];
        for (int r = 0; r < out.length; r++) out[r] = control.add(PREFIX + "alive/" + r, 0);
        return out;
    }

    /** Waits for every rank (so rank 0, the store host, leaves last), then stops the heartbeat. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        heartbeat.interrupt();
        if (!failed) {
            try {
                barrier("the final barrier");
            } catch (DistributedException e) {
                System.err.println("dit: warning: " + e.getMessage());
            }
        }
    }

    static String seconds(Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() / 1000.0 + " s";
    }

    static String firstLine(String s) {
        if (s == null) return "(no message)";
        String line = s.strip().lines().findFirst().orElse("");
        return line.length() > 300 ? line.substring(0, 300) + "..." : line;
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
