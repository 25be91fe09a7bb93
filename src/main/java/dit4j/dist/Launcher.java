package dit4j.dist;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import sun.misc.Signal;

/**
 * {@code torchrun --standalone} for this machine's share of a job: starts one worker JVM per
 * local rank running the same command, with torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK,
 * LOCAL_WORLD_SIZE, GROUP_RANK, MASTER_ADDR, MASTER_PORT) and an equal share of the cores;
 * forwards SIGINT and SIGTERM to them; waits; and when one fails, names it, stops the others and
 * returns its exit code. There are no restarts (torchrun's default, {@code --max-restarts 0}).
 */
public final class Launcher {

    /** The job's shape: workers here, machines, this machine's index, and where rank 0 listens (port 0: a free one). */
    public record Plan(int nprocPerNode, int nnodes, int nodeRank, String masterAddr, int masterPort, Duration timeout) {
        public Plan {
            if (nprocPerNode < 1) throw new IllegalArgumentException("--nproc-per-node must be at least 1, got " + nprocPerNode);
            if (nnodes < 1) throw new IllegalArgumentException("--nnodes must be at least 1, got " + nnodes);
            if (nodeRank < 0 || nodeRank >= nnodes) throw new IllegalArgumentException("--node-rank " + nodeRank + " is outside --nnodes " + nnodes);
            if (nnodes > 1 && (masterAddr == null || masterAddr.isBlank())) throw new IllegalArgumentException("--nnodes " + nnodes + " needs --master-addr (the host of node rank 0)");
            if (nnodes > 1 && masterPort == 0) throw new IllegalArgumentException("--nnodes " + nnodes + " needs a fixed --master-port on every node");
        }

        public int worldSize() {
            return nprocPerNode * nnodes;
        }
    }

    private final Plan plan;
    private final String mainClass;
    private final List<String> args;
    private final PrintStream err;
    private final List<Process> workers = new ArrayList<>();
    private final List<Path> logs = new ArrayList<>();
    private volatile boolean stopping;

    /**
     * @param mainClass the workers' entry point
     * @param args the workers' arguments (the launcher's own flags removed)
     */
    public Launcher(Plan plan, String mainClass, List<String> args, PrintStream err) {
        this.plan = plan;
        this.mainClass = mainClass;
        this.args = List.copyOf(args);
        this.err = err;
    }

    /** Starts the workers and waits for them; returns 0, or the exit code of the first that failed. */
    public int run() throws IOException, InterruptedException {
        String addr = plan.masterAddr() == null || plan.masterAddr().isBlank() ? "127.0.0.1" : plan.masterAddr();
        int port = plan.masterPort() == 0 ? freePort() : plan.masterPort();
        int cores = Math.max(1, Runtime.getRuntime().availableProcessors() / plan.nprocPerNode());
        Path logDir = Files.createTempDirectory("dit-workers-");
        err.printf("dit: starting %d worker%s of %d (node %d of %d), rendezvous %s:%d, %d core%s each; logs of ranks other than 0 in %s%n",
                plan.nprocPerNode(), plan.nprocPerNode() == 1 ? "" : "s", plan.worldSize(), plan.nodeRank(), plan.nnodes(), addr, port,
                cores, cores == 1 ? "" : "s", logDir);
        Signal.handle(new Signal("INT"), s -> forward("INT"));
        Signal.handle(new Signal("TERM"), s -> forward("TERM"));
        for (int local = 0; local < plan.nprocPerNode(); local++) {
            int rank = plan.nodeRank() * plan.nprocPerNode() + local;
            ProcessBuilder pb = new ProcessBuilder(command());
            Map<String, String> env = pb.environment();
            env.put("RANK", String.valueOf(rank));
            env.put("WORLD_SIZE", String.valueOf(plan.worldSize()));
            env.put("LOCAL_RANK", String.valueOf(local));
            env.put("LOCAL_WORLD_SIZE", String.valueOf(plan.nprocPerNode()));
            env.put("GROUP_RANK", String.valueOf(plan.nodeRank()));
            env.put("MASTER_ADDR", addr);
            env.put("MASTER_PORT", String.valueOf(port));
            env.put("DIT_DIST_TIMEOUT_S", String.valueOf(plan.timeout().toMillis() / 1000.0));
            env.put("DIT_LAUNCHER_PID", String.valueOf(ProcessHandle.current().pid()));
            // Each worker gets its share of the cores (runtime.Threads reads DIT_CORES; OpenBLAS its own variable).
            env.put("DIT_CORES", String.valueOf(cores));
            env.putIfAbsent("OPENBLAS_NUM_THREADS", String.valueOf(cores));
            env.putIfAbsent("OMP_NUM_THREADS", String.valueOf(cores));
            Path log = logDir.resolve("rank-" + rank + ".log");
            if (rank == 0) pb.inheritIO();
            else pb.redirectErrorStream(true).redirectOutput(log.toFile()).redirectInput(ProcessBuilder.Redirect.INHERIT);
            workers.add(pb.start());
            logs.add(rank == 0 ? null : log);
        }
        return await();
    }

    /** Waits for all; on the first failure stops the others (a grace period to report the lost peer, then SIGTERM, then SIGKILL). */
    private int await() throws InterruptedException {
        int firstFailed = -1, code = 0;
        while (true) {
            boolean allDone = true;
            for (int i = 0; i < workers.size(); i++) {
                Process p = workers.get(i);
                if (p.isAlive()) {
                    allDone = false;
                } else if (firstFailed < 0 && p.exitValue() != 0) {
                    firstFailed = i;
                    code = p.exitValue();
                }
            }
            if (allDone || (firstFailed >= 0 && !stopping)) break;
            Thread.sleep(100);
        }
        // Stopped by a signal: every worker saved and left on its own; nothing failed.
        if (stopping) {
            for (Process p : workers) p.waitFor();
            return firstFailed < 0 ? 0 : code;
        }
        if (firstFailed < 0) return 0;
        int rank = plan.nodeRank() * plan.nprocPerNode() + firstFailed;
        Process failed = workers.get(firstFailed);
        err.printf("dit: worker rank %d (local rank %d, pid %d) failed first: %s; stopping the others%n",
                rank, firstFailed, failed.pid(), describe(code));
        if (logs.get(firstFailed) != null) tail(logs.get(firstFailed), rank);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        for (Process p : workers) {
            long left = deadline - System.nanoTime();
            if (left > 0) p.waitFor(left, TimeUnit.NANOSECONDS);
        }
        for (Process p : workers) if (p.isAlive()) p.destroy();
        for (Process p : workers) if (!p.waitFor(10, TimeUnit.SECONDS)) p.destroyForcibly();
        return code == 130 || code == 143 ? code : Math.max(1, code > 255 ? 1 : code);
    }

    private void tail(Path log, int rank) {
        try {
            List<String> lines = Files.readAllLines(log);
            for (String l : lines.subList(Math.max(0, lines.size() - 5), lines.size())) err.println("[rank " + rank + "] " + l);
        } catch (IOException e) {
            // the log is only a courtesy
        }
    }

    /**
     * In a worker: ends this process when its launcher is gone (killed with SIGKILL, say), since
     * the workers run in their own sessions and nothing else would stop them.
     */
    public static void watchLauncher(Map<String, String> env) {
        String pid = env.get("DIT_LAUNCHER_PID");
        if (pid == null || pid.isBlank()) return;
        java.util.Optional<ProcessHandle> launcher = ProcessHandle.of(Long.parseLong(pid.trim()));
        if (launcher.isEmpty()) return;
        Thread t = new Thread(() -> {
            launcher.get().onExit().join();
            System.err.println("dit: the launcher (pid " + pid + ") is gone; rank " + env.get("RANK") + " stops");
            Runtime.getRuntime().halt(1);
        }, "dit4j-launcher-watch");
        t.setDaemon(true);
        t.start();
    }

    static String describe(int code) {
        if (code > 128 && code < 160) {
            String name = switch (code - 128) {
                case 2 -> "SIGINT";
                case 6 -> "SIGABRT";
                case 9 -> "SIGKILL";
                case 11 -> "SIGSEGV";
                case 15 -> "SIGTERM";
                default -> "signal " + (code - 128);
            };
            return "exit code " + code + " (" + name + ")";
        }
        return "exit code " + code;
    }

    /** SIGINT becomes a checkpoint-and-stop in each worker (they agree on the step); SIGTERM ends them. */
    private void forward(String signal) {
        if (signal.equals("INT") && stopping) {
            err.println("\ndit: interrupted again: stopping the workers now");
            for (Process p : workers) p.destroyForcibly();
            return;
        }
        stopping = true;
        for (Process p : workers) {
            if (!p.isAlive()) continue;
            if (signal.equals("TERM")) {
                p.destroy();
            } else {
                try {
                    new ProcessBuilder("kill", "-INT", String.valueOf(p.pid())).start();
                } catch (IOException e) {
                    p.destroy();
                }
            }
        }
    }

    /**
     * The same JVM (its options and class path) running {@code mainClass}; under {@code setsid}
     * when available, so a Ctrl-C in the terminal reaches the workers once, through the launcher.
     */
    private List<String> command() {
        List<String> cmd = new ArrayList<>();
        if (Files.isExecutable(Path.of("/usr/bin/setsid"))) cmd.add("/usr/bin/setsid");
        cmd.add(ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(mainClass);
        cmd.addAll(args);
        return cmd;
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** The arguments without the launcher's own flags ({@code --flag value} and {@code --flag=value}). */
    public static List<String> withoutFlags(List<String> args, List<String> flags) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            String name = a.contains("=") ? a.substring(0, a.indexOf('=')) : a;
            if (flags.contains(name)) {
                if (!a.contains("=")) i++;
                continue;
            }
            out.add(a);
        }
        return out;
    }
}
