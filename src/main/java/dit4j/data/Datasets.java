package dit4j.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.function.Consumer;

/** One entry point that looks at a path and picks the reader. */
public final class Datasets {
    private Datasets() {}

    /**
     * Opens the dataset at {@code spec}:
     * <ul>
     *   <li>a folder with train-/t10k-images-idx3-ubyte[.gz] (MNIST, Fashion-MNIST), or one such
     *       images file (its labels file is found beside it): {@link IdxDataset};
     *   <li>a folder with data_batch_1.bin or test_batch.bin, or holding cifar-10-batches-bin/:
     *       {@link Cifar10Dataset};
     *   <li>any other folder: one sub-folder of images per class, {@link ImageFolderDataset}.
     * </ul>
     *
     * @param split "train" or "test" (an image folder has no splits: pass the split's folder)
     * @param imageSize side of the images produced; 0 = the data's own (28 for MNIST, 32 for CIFAR; folders need one)
     * @param channels 1 or 3; 0 = the data's own (1 for IDX, 3 for CIFAR and folders)
     * @param skipBad for image folders: decode every image at open time and drop those that fail
     * @param warn receives warnings (skipped images, ignored options); null to drop them
     */
    public static ImageDataset open(String spec, String split, int imageSize, int channels, boolean skipBad, Consumer<String> warn) throws IOException {
        if (spec == null || spec.isBlank()) throw new DatasetException("no dataset path given");
        if (!"train".equals(split) && !"test".equals(split)) throw new DatasetException(spec + ": unknown split '" + split + "'; expected train or test");
        if (imageSize < 0) throw new DatasetException(spec + ": image size must be positive, or 0 for the data's own, got " + imageSize);
        if (channels != 0 && channels != 1 && channels != 3) throw new DatasetException(spec + ": channels must be 1 or 3, or 0 for the data's own, got " + channels);
        Consumer<String> w = warn != null ? warn : s -> {};
        Path p;
        try {
            p = Path.of(spec);
        } catch (InvalidPathException e) {
            throw new DatasetException(spec + ": not a valid path (" + e.getReason() + ")");
        }
        if (!Files.exists(p)) throw new DatasetException(spec + ": no such file or folder");
        if (Files.isRegularFile(p)) {
            if (p.getFileName().toString().contains("idx3-ubyte")) {
                if (skipBad) w.accept(spec + ": skipBad applies to image folders only; ignored");
                return IdxDataset.fromFiles(p, IdxDataset.labelsFileFor(p), imageSize, channels);
            }
            throw new DatasetException(spec + ": a file; expected a folder (MNIST-style IDX files, CIFAR-10 .bin batches, "
                    + "or one sub-folder of images per class) or an *-images-idx3-ubyte[.gz] file");
        }
        if (IdxDataset.looksLikeIdx(p)) {
            if (skipBad) w.accept(spec + ": skipBad applies to image folders only; ignored");
            return IdxDataset.open(p, split, imageSize, channels);
        }
        for (Path dir : new Path[] {p, p.resolve("cifar-10-batches-bin")}) {
            if (Cifar10Dataset.looksLikeCifar(dir)) {
                if (skipBad) w.accept(spec + ": skipBad applies to image folders only; ignored");
                return Cifar10Dataset.open(dir, split, imageSize, channels);
            }
        }
        if ("test".equals(split)) w.accept(spec + ": an image folder has no splits; split 'test' ignored, reading every class folder");
        return ImageFolderDataset.open(p, imageSize, channels, skipBad, warn);
    }
}
