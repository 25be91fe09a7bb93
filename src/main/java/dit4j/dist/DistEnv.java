package dit4j.dist;

import java.time.Duration;
import java.util.Map;

/**
 * Where a process sits in a data-parallel job, in torchrun's terms: global rank and world size,
 * rank and count on this machine, and the rendezvous address (rank 0 hosts the TCPStore there).
 */
public record DistEnv(int rank, int worldSize, int localRank, int localWorldSize, String masterAddr, int masterPort, Duration timeout) {
    public static final int DEFAULT_PORT = 29500;
    public static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(5);

    /** One process, no process group. */
    public static final DistEnv SINGLE = new DistEnv(0, 1, 0, 1, "127.0.0.1", DEFAULT_PORT, DEFAULT_TIMEOUT);

    public DistEnv {
        if (worldSize < 1) throw new IllegalArgumentException("WORLD_SIZE must be at least 1, got " + worldSize);
        if (rank < 0 || rank >= worldSize) throw new IllegalArgumentException("RANK " + rank + " is outside the world of " + worldSize);
        if (localWorldSize < 1 || localRank < 0 || localRank >= localWorldSize) {
            throw new IllegalArgumentException("LOCAL_RANK " + localRank + " is outside LOCAL_WORLD_SIZE " + localWorldSize);
        }
        if (masterPort < 1 || masterPort > 65535) throw new IllegalArgumentException("MASTER_PORT " + masterPort + " is not a TCP port");
        if (timeout == null || timeout.isNegative() || timeout.isZero()) throw new IllegalArgumentException("the distributed timeout must be positive");
    }

    public boolean distributed() {
        return worldSize > 1;
    }

    public DistEnv withTimeout(Duration t) {
        return new DistEnv(rank, worldSize, localRank, localWorldSize, masterAddr, masterPort, t);
    }

    /** True when torchrun (or {@code dit train --nproc-per-node}) has placed this process in a job. */
    public static boolean inEnvironment(Map<String, String> env) {
        return env.containsKey("RANK") && env.containsKey("WORLD_SIZE");
    }

    /**
     * Reads torchrun's variables: RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR,
     * MASTER_PORT (default 29500), and DIT_DIST_TIMEOUT_S (seconds, default 300). Without RANK and
     * WORLD_SIZE this is {@link #SINGLE}.
     */
    public static DistEnv fromEnv(Map<String, String> env) {
        if (!inEnvironment(env)) return SINGLE;
        int rank = intVar(env, "RANK", 0);
        int world = intVar(env, "WORLD_SIZE", 1);
        int localRank = intVar(env, "LOCAL_RANK", rank);
        int localWorld = intVar(env, "LOCAL_WORLD_SIZE", env.containsKey("LOCAL_RANK") ? localRank + 1 : world);
        String addr = env.getOrDefault("MASTER_ADDR", "127.0.0.1");
        int port = intVar(env, "MASTER_PORT", DEFAULT_PORT);
        Duration timeout = env.containsKey("DIT_DIST_TIMEOUT_S") ? Duration.ofMillis((long) (1000 * Double.parseDouble(env.get("DIT_DIST_TIMEOUT_S").trim()))) : DEFAULT_TIMEOUT;
        return new DistEnv(rank, world, localRank, Math.max(localWorld, localRank + 1), addr, port, timeout);
    }

    public static DistEnv fromEnv() {
        return fromEnv(System.getenv());
    }

    private static int intVar(Map<String, String> env, String name, int dflt) {
        String v = env.get(name);
        if (v == null || v.isBlank()) return dflt;
        try {
            return Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("environment variable " + name + "=" + v + " is not an integer");
        }
    }
}
