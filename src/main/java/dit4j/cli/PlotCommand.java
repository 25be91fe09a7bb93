package dit4j.cli;

import dit4j.train.LossPlot;
import dit4j.train.RunDir;
import dit4j.train.TrainLog;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code dit plot}: the loss curves of one or more runs in one PNG. */
@Command(name = "plot", mixinStandardHelpOptions = true,
        description = "Draw the training loss of one or more runs (their log.jsonl) into one PNG, e.g. to compare precisions or recipes.")
public final class PlotCommand implements Callable<Integer> {
    @Parameters(arity = "1..*", description = "Run folders or log.jsonl files.")
    List<Path> runs;

    @Option(names = "--label", description = "A label per run (default: the folder name).")
    List<String> labels;

    @Option(names = "--out", required = true, description = "The PNG to write.")
    Path out;

    @Option(names = "--title", defaultValue = "training loss", description = "Chart title.")
    String title;

    @Override
    public Integer call() throws Exception {
        if (labels != null && labels.size() != runs.size()) throw new IllegalArgumentException("give one --label per run (" + runs.size() + "), or none");
        Map<String, List<double[]>> series = new LinkedHashMap<>();
        for (int i = 0; i < runs.size(); i++) {
            Path p = runs.get(i);
            Path log = Files.isDirectory(p) ? new RunDir(p).log() : p;
            if (!Files.isRegularFile(log)) throw new IllegalArgumentException(log + ": not found (expected a run folder or its log.jsonl)");
            List<double[]> points = TrainLog.readLoss(log);
            if (points.isEmpty()) throw new IllegalArgumentException(log + ": no loss records");
            String name = labels != null ? labels.get(i) : (Files.isDirectory(p) ? p : p.toAbsolutePath().getParent()).getFileName().toString();
            series.put(name, points);
        }
        LossPlot.write(out, series, title);
        System.out.println(out);
        return 0;
    }
}
