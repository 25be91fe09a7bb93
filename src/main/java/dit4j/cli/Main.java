package dit4j.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code dit} command line. */
@Command(
        name = "dit",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = "Diffusion Transformers (DiT) on the JVM: train, sample, verify and benchmark class-conditional diffusion models.",
        subcommands = {
            DemoCommand.class,
            TrainCommand.class,
            SampleCommand.class,
            ExtractFeaturesCommand.class,
            DownloadCommand.class,
            PlotCommand.class,
            BenchCommand.class,
            InfoCommand.class,
            VerifyCommand.class,
            EvalCommand.class,
            CommandLine.HelpCommand.class
        })
public final class Main implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line and returns the exit code: 0 ok, 1 failure, 2 bad usage. */
    public static int run(String... args) {
        dit4j.runtime.Threads.configureDefault();
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            commandLine.getErr().println("dit " + commandLine.getCommandName() + ": error: " + Errors.oneLine(e));
            if (System.getenv("DIT_DEBUG") != null) e.printStackTrace(commandLine.getErr());
            return 1;
        });
        return cl.execute(args);
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"dit4j " + (v == null ? "dev" : v) + " (libtorch 2.10 via JavaCPP Presets 1.5.13)"};
        }
    }
}
