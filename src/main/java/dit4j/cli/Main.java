package dit4j.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code dit} command line. */
@Command(
        name = "dit",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = "Diffusion Transformers (DiT) on the JVM: train, sample, verify and benchmark class-conditional diffusion models.",
        footer = {"", "Exit status: 0 done, 1 failed (the error names the file, tensor or value), 2 bad usage (a flag missing, unknown or out of range),",
                "130 interrupted by Ctrl-C, 143 by SIGTERM (training saves a checkpoint first). DIT_DEBUG=1 shows stack traces."},
        subcommands = {
            DemoCommand.class,
            TrainCommand.class,
            SampleCommand.class,
            ServeCommand.class,
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
        // One line and a pointer to --help, not the whole usage.
        cl.setParameterExceptionHandler((e, a) -> {
            CommandLine c = e.getCommandLine();
            c.getErr().println("dit " + c.getCommandName() + ": " + Errors.oneLine(e) + " (see: " + qualifiedName(c) + " --help)");
            return 2;
        });
        cl.setExecutionExceptionHandler((e, c, parseResult) -> {
            if (e instanceof dit4j.OptionException) {
                c.getErr().println("dit " + c.getCommandName() + ": " + Errors.oneLine(e) + " (see: " + qualifiedName(c) + " --help)");
                return 2;
            }
            c.getErr().println("dit " + c.getCommandName() + ": error: " + Errors.oneLine(e));
            if (System.getenv("DIT_DEBUG") != null) e.printStackTrace(c.getErr());
            return 1;
        });
        try {
            return cl.execute(args);
        } catch (OutOfMemoryError e) {
            System.err.println("dit: error: " + Errors.oneLine(e) + " (a size in a file or flag is larger than this machine can hold)");
            if (System.getenv("DIT_DEBUG") != null) e.printStackTrace();
            return 1;
        }
    }

    /** A warning on stderr, for the library's warning callbacks. */
    static void warn(String message) {
        System.err.println("dit: " + (message.startsWith("warning") ? message : "warning: " + message));
    }

    private static String qualifiedName(CommandLine c) {
        return c.getParent() == null ? "dit" : "dit " + c.getCommandName();
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"dit4j " + (v == null ? "dev" : v) + " (libtorch 2.10 via JavaCPP Presets 1.5.13)"};
        }
    }
}
