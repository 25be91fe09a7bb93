package dit4j.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DatasetsTest {
    @TempDir
    Path tmp;

    @Test
    void idxFolderOrImagesFile() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("mnist"));
        Files.write(dir.resolve("train-images-idx3-ubyte.gz"), IdxDatasetTest.gzip(IdxDatasetTest.imagesFile(2051, 3, 4, 4, 48)));
        Files.write(dir.resolve("train-labels-idx1-ubyte"), IdxDatasetTest.labelsFile(2049, 7, 0, 9));
        List<String> warnings = new ArrayList<>();
        ImageDataset ds = Datasets.open(dir.toString(), "train", 0, 0, true, warnings::add);
        assertInstanceOf(IdxDataset.class, ds);
        assertEquals(1, ds.channels());
        assertEquals(4, ds.imageSize());
        assertTrue(warnings.get(0).contains("skipBad applies to image folders only"), warnings.toString());

        ImageDataset single = Datasets.open(dir.resolve("train-images-idx3-ubyte.gz").toString(), "train", 8, 3, false, null);
        assertEquals(3, single.channels());
        assertEquals(8, single.imageSize());
        assertEquals(9, single.label(2));

        IOException e = assertThrows(DatasetException.class, () -> Datasets.open(dir.toString(), "test", 0, 0, false, null));
        assertTrue(e.getMessage().contains("t10k-images-idx3-ubyte") && e.getMessage().contains("not found"), e.getMessage());
    }

    @Test
    void cifarFolderOrItsParent() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("cifar-10-batches-bin"));
        Files.write(dir.resolve("test_batch.bin"), Cifar10DatasetTest.records(0, 4, 5));
        for (Path p : new Path[] {dir, tmp}) {
            ImageDataset ds = Datasets.open(p.toString(), "test", 0, 1, false, null);
            assertInstanceOf(Cifar10Dataset.class, ds);
            assertEquals(1, ds.channels());
            assertEquals(32, ds.imageSize());
            assertEquals(5, ds.label(1));
        }
    }

    @Test
    void imageFolder() throws IOException {
        ImageFolderDatasetTest.write(tmp.resolve("cls/a.png"), 10, 6, (x, y) -> 0x808080);
        List<String> warnings = new ArrayList<>();
        ImageDataset ds = Datasets.open(tmp.toString(), "test", 4, 0, false, warnings::add);
        assertInstanceOf(ImageFolderDataset.class, ds);
        assertEquals(3, ds.channels());
        assertEquals(List.of("cls"), ds.classNames());
        assertEquals(1, warnings.size());  // an image folder has no test split
        IOException e = assertThrows(DatasetException.class, () -> Datasets.open(tmp.toString(), "train", 0, 0, false, null));
        assertTrue(e.getMessage().startsWith(tmp + ": an image folder has no native size"), e.getMessage());
    }

    @Test
    void badSpecs() throws IOException {
        Path missing = tmp.resolve("nope");
        IOException e = assertThrows(DatasetException.class, () -> Datasets.open(missing.toString(), "train", 0, 0, false, null));
        assertEquals(missing + ": no such file or folder", e.getMessage());
        e = assertThrows(DatasetException.class, () -> Datasets.open(tmp.toString(), "val", 0, 0, false, null));
        assertTrue(e.getMessage().contains("unknown split 'val'"), e.getMessage());
        e = assertThrows(DatasetException.class, () -> Datasets.open(tmp.toString(), "train", 0, 2, false, null));
        assertTrue(e.getMessage().contains("channels must be 1 or 3"), e.getMessage());
        Path txt = Files.writeString(tmp.resolve("x.txt"), "x");
        e = assertThrows(DatasetException.class, () -> Datasets.open(txt.toString(), "train", 0, 0, false, null));
        assertTrue(e.getMessage().startsWith(txt + ": a file; expected a folder"), e.getMessage());
        assertThrows(DatasetException.class, () -> Datasets.open(" ", "train", 0, 0, false, null));
    }

    @Test
    void realFashionMnistThroughOpen() throws IOException {
        Path dir = Path.of("/usr/share/datasets/fashion-mnist");
        Assumptions.assumeTrue(Files.isDirectory(dir), "no " + dir);
        ImageDataset ds = Datasets.open(dir.toString(), "test", 32, 3, false, null);
        assertEquals(10000, ds.size());
        assertEquals(IdxDataset.FASHION_CLASSES, ds.classNames());
        float[] out = new float[ds.imageLength()];
        ds.read(0, true, out, 0);
        assertEquals(3 * 32 * 32, out.length);
    }
}
