package dit4j.cli;

import dit4j.dist.DistEnv;
import dit4j.dist.Job;
import dit4j.dist.Launcher;
import java.time.Duration;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/**
 * Data-parallel flags of {@code dit train} and {@code dit sample}: {@code --nproc-per-node N} launches N workers here
 * (like {@code torchrun --standalone}); a process started with RANK and WORLD_SIZE set (by that
 * launcher or by torchrun) joins the job as that rank. World size 1 needs no process group.
 */
public final class DistOptions {
    static final List<String> LAUNCHER_FLAGS = List.of("--nproc-per-node", "--nnodes", "--node-rank", "--master-addr", "--master-port");

    @Option(names = "--nproc-per-node", defaultValue = "0", description = "Start this many data-parallel workers on this machine (each gets cores / N threads); 0 or 1: run in this process.")
    int nprocPerNode;

    @Option(names = "--nnodes", defaultValue = "1", description = "Machines in the job (default ${DEFAULT-VALUE}); each runs the same command with its own --node-rank.")
    int nnodes;

    @Option(names = "--node-rank", defaultValue = "0", description = "This machine's index among --nnodes (default ${DEFAULT-VALUE}).")
    int nodeRank;

    @Option(names = "--master-addr", description = "Host of rank 0, which hosts the rendezvous store (default 127.0.0.1; needed with --nnodes > 1).")
    String masterAddr;

    @Option(names = "--master-port", description = "Port of the rendezvous store (default: a free port on one machine, 29500 across machines).")
    Integer masterPort;

    @Option(names = "--dist-timeout", description = "Seconds a rank waits for the others (rendezvous and each collective) before failing (default 300).")
    Double timeoutSeconds;

    /** True when this process is the launcher of several workers rather than a worker. */
    boolean launches() {
        return nprocPerNode > 1 || nnodes > 1;
    }

    /** Runs this command in N worker processes and returns the launcher's exit code. */
    int launch(CommandLine cl) throws Exception {
        return launch(cl, Math.max(1, nprocPerNode), List.of());
    }

    /** Runs this command in {@code nproc} workers on this machine, with {@code extraArgs} appended. */
    int launch(CommandLine cl, int nproc, List<String> extraArgs) throws Exception {
        if (DistEnv.inEnvironment(System.getenv())) {
            throw new CommandLine.ParameterException(cl, "--nproc-per-node: this process already is rank " + System.getenv("RANK") + " of a job (RANK and WORLD_SIZE are set)");
        }
        int port = masterPort != null ? masterPort : nnodes > 1 ? DistEnv.DEFAULT_PORT : 0;
        Launcher.Plan plan = new Launcher.Plan(nproc, nnodes, nodeRank, masterAddr, port, timeout(DistEnv.DEFAULT_TIMEOUT));
        List<String> args = new java.util.ArrayList<>(Launcher.withoutFlags(cl.getParseResult().originalArgs(), LAUNCHER_FLAGS));
        args.addAll(extraArgs);
        return new Launcher(plan, Main.class.getName(), args, System.err).run();
    }

    /** The job the environment names (torchrun's variables), or a one-process job. */
    Job join(String device) {
        DistEnv env = DistEnv.fromEnv();
        return Job.join(env.withTimeout(timeout(env.timeout())), device);
    }

    private Duration timeout(Duration dflt) {
        return timeoutSeconds == null ? dflt : Duration.ofMillis((long) (timeoutSeconds * 1000));
    }
}
