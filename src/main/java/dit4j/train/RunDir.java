package dit4j.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dit4j.io.AtomicFiles;
import dit4j.model.DiTConfig;
import java.io.IOException;
import java.util.Map;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/** The layout of a run: {@code results/NNN-DiT-S-2/} with {@code checkpoints/NNNNNNN.pt}, {@code log.jsonl}, {@code loss.png} (and {@code fid.png}). */
public record RunDir(Path root) {
    private static final Pattern CKPT = Pattern.compile("\\d{7,}\\.pt");

    /** The next free {@code NNN-model} folder under resultsDir, as the official train.py numbers them (not created yet). */
    public static RunDir next(Path resultsDir, String modelName) throws IOException {
        int index = 0;
        if (Files.isDirectory(resultsDir)) {
            try (Stream<Path> s = Files.list(resultsDir)) {
                index = (int) s.count();
            }
        }
        String name = String.format("%03d-%s", index, modelName.replace('/', '-'));
        while (Files.exists(resultsDir.resolve(name))) name = String.format("%03d-%s", ++index, modelName.replace('/', '-'));
        return new RunDir(resultsDir.resolve(name));
    }

    public static RunDir create(Path root) throws IOException {
        Files.createDirectories(root.resolve("checkpoints"));
        return new RunDir(root);
    }

    /** {@code args.json}: the options and model configuration of the run, for people and tools. */
    public void writeArgs(TrainOptions o, DiTConfig config) throws IOException {
        Map<String, Object> args = o.toMap();
        args.put("dit_config", new ObjectMapper().convertValue(config.toJson(), Map.class));
        byte[] json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsBytes(args);
        AtomicFiles.write(root.resolve("args.json"), out -> out.write(json));
    }

    public Path checkpoints() {
        return root.resolve("checkpoints");
    }

    public Path checkpoint(long step) {
        return checkpoints().resolve(String.format("%07d.pt", step));
    }

    public Path log() {
        return root.resolve("log.jsonl");
    }

    public Path lossPlot() {
        return root.resolve("loss.png");
    }

    /** FID over steps, when the run evaluates ({@code --eval-every}). */
    public Path fidPlot() {
        return root.resolve("fid.png");
    }

    /** Removes temporary files a killed writer left behind (the checkpoints themselves are never partial). */
    public void removeStaleTemporaries() throws IOException {
        if (!Files.isDirectory(checkpoints())) return;
        try (Stream<Path> s = Files.list(checkpoints())) {
            for (Path p : s.filter(p -> p.getFileName().toString().matches("\\..*\\.tmp-\\d+")).toList()) Files.deleteIfExists(p);
        }
    }

    /** The checkpoint with the highest step, if any. */
    public Optional<Path> latestCheckpoint() throws IOException {
        if (!Files.isDirectory(checkpoints())) return Optional.empty();
        try (Stream<Path> s = Files.list(checkpoints())) {
            return s.filter(p -> CKPT.matcher(p.getFileName().toString()).matches())
                    .max(Comparator.comparing(p -> Long.parseLong(p.getFileName().toString().replace(".pt", ""))));
        }
    }

    /** A run folder given either as the folder or as one of its checkpoints. */
    public static RunDir of(Path folderOrCheckpoint) {
        Path p = folderOrCheckpoint.toAbsolutePath();
        if (Files.isRegularFile(p) && p.getParent() != null && p.getParent().getFileName().toString().equals("checkpoints")) {
            return new RunDir(p.getParent().getParent());
        }
        return new RunDir(Files.isRegularFile(p) ? p.getParent() : p);
    }
}
