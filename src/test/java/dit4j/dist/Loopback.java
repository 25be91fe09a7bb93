package dit4j.dist;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/** Runs one function per rank on threads of this JVM, each with its own process group over 127.0.0.1. */
final class Loopback {
    private Loopback() {}

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    static DistEnv env(int rank, int world, int port, Duration timeout) {
        return new DistEnv(rank, world, rank, world, "127.0.0.1", port, timeout);
    }

    /** Results in rank order; the first failure is rethrown. */
    static <T> List<T> run(int world, Function<DistGroup, T> body) throws Exception {
        int port = freePort();
        ExecutorService pool = Executors.newFixedThreadPool(world);
        try {
            List<Future<T>> fs = new ArrayList<>();
            for (int r = 0; r < world; r++) {
                int rank = r;
                fs.add(pool.submit(() -> {
                    try (DistGroup g = DistGroup.join(env(rank, world, port, Duration.ofSeconds(30)), false)) {
                        return body.apply(g);
                    }
                }));
            }
            List<T> out = new ArrayList<>();
            for (Future<T> f : fs) out.add(f.get(120, TimeUnit.SECONDS));
            return out;
        } finally {
            pool.shutdownNow();
        }
    }
}
