package dit4j;

import java.nio.file.Files;
import java.nio.file.Path;

/** A tiny trained DiT checkpoint (8x8 gray, 10 classes), trained once per test JVM. */
public final class TinyCheckpoint {
    private TinyCheckpoint() {}

    private static Path checkpoint;

    public static synchronized Path get() throws Exception {
        if (checkpoint != null) return checkpoint;
        Path dir = Files.createTempDirectory("dit4j-tiny");
        dir.toFile().deleteOnExit();
        Path data = TinyData.idx(dir.resolve("data"), 32, 8, 4, 3);
        Path run = dir.resolve("run");
        // A high learning rate moves the zero-initialised output layer, so images depend on the weights.
        int code = dit4j.cli.Main.run("train", "--data-path", data.toString(), "--run-dir", run.toString(),
                "--depth", "2", "--hidden-size", "32", "--heads", "2", "--patch", "2", "--global-batch-size", "8",
                "--steps", "10", "--lr", "3e-3");
        if (code != 0) throw new IllegalStateException("training the tiny checkpoint failed: exit " + code);
        checkpoint = run.resolve("checkpoints/0000010.pt");
        return checkpoint;
    }
}
