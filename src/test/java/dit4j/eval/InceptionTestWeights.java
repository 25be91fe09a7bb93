package dit4j.eval;

import dit4j.io.PtWriter;
import java.nio.file.Files;
import java.nio.file.Path;

/** The random Inception weights of scripts/make_inception_vectors.py, regenerated once per test run and written as a .pth. */
public final class InceptionTestWeights {
    private InceptionTestWeights() {}

    static final long SEED = 1000;
    private static Path file;

    public static synchronized Path file() throws Exception {
        if (file == null) {
            Path dir = Files.createTempDirectory("dit4j-inception");
            dir.toFile().deleteOnExit();
            Path f = dir.resolve("random_inception.pth");
            PtWriter.save(f, PtWriter.ordered(InceptionV3.randomWeights(SEED)));
            f.toFile().deleteOnExit();
            file = f;
        }
        return file;
    }
}
