package dit4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageFolderDatasetTest {
    @TempDir
    Path tmp;

    interface Rgb {
        int at(int x, int y);
    }

    static Path write(Path file, int w, int h, Rgb rgb) throws IOException {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) img.setRGB(x, y, rgb.at(x, y));
        Files.createDirectories(file.getParent());
        String name = file.getFileName().toString().toLowerCase();
        String format = name.endsWith(".png") ? "png" : "jpeg";
        if (!ImageIO.write(img, format, file.toFile())) throw new IOException("no writer for " + format);
        return file;
    }

    static int rgb(int r, int g, int b) {
        return r << 16 | g << 8 | b;
    }

    static float f(int v) {
        return (float) (v / 127.5 - 1.0);
    }

    @Test
    void classesSortedFilesInWalkOrderHiddenSkipped() throws IOException {
        Rgb black = (x, y) -> 0;
        write(tmp.resolve("b_cat/x.png"), 4, 4, black);
        write(tmp.resolve("a_dog/sub/y.png"), 4, 4, black);
        write(tmp.resolve("a_dog/z.jpg"), 4, 4, black);
        write(tmp.resolve("a_dog/A.PNG"), 4, 4, black);
        write(tmp.resolve("a_dog/.hidden.png"), 4, 4, black);
        write(tmp.resolve(".ipynb_checkpoints/q.png"), 4, 4, black);
        Files.writeString(tmp.resolve("a_dog/notes.txt"), "not an image");
        Files.writeString(tmp.resolve("README"), "a file beside the class folders");
        ImageFolderDataset ds = ImageFolderDataset.open(tmp, 4, 3, false, null);
        assertEquals(List.of("a_dog", "b_cat"), ds.classNames());
        assertEquals(2, ds.numClasses());
        assertEquals(4, ds.size());
        List<String> order = new ArrayList<>();
        for (int i = 0; i < ds.size(); i++) order.add(tmp.relativize(Path.of(ds.describe(i))) + ":" + ds.label(i));
        // torchvision: sorted(os.walk(class_dir)) -> a_dog's own files (sorted: 'A' < 'z'), then a_dog/sub
        assertEquals(List.of("a_dog/A.PNG:0", "a_dog/z.jpg:0", "a_dog/sub/y.png:0", "b_cat/x.png:1"), order);
    }

    @Test
    void centerCropTakesTheMiddleOfAWideImage() throws IOException {
        // 40x20, red = 6 * column: every column distinct, so the output says which columns were kept
        write(tmp.resolve("c/wide.png"), 40, 20, (x, y) -> rgb(6 * x, 255 - 6 * x, 128));
        ImageFolderDataset ds = ImageFolderDataset.open(tmp, 20, 3, false, null);
        float[] out = new float[3 * 400];
        ds.read(0, false, out, 0);
        for (int y = 0; y < 20; y++) {
            for (int x = 0; x < 20; x++) {
                assertEquals(f(6 * (10 + x)), out[y * 20 + x], "R at " + x + "," + y);  // columns 10..29
                assertEquals(f(255 - 6 * (10 + x)), out[400 + y * 20 + x]);
                assertEquals(f(128), out[800 + y * 20 + x]);
            }
        }
        ds.read(0, true, out, 0);
        assertEquals(f(6 * 29), out[0]);
        assertEquals(f(6 * 10), out[19]);

        // size 10: BOX halves 40x20 to 20x10 (column pair means 12j + 3), scale 1, crop columns 5..14
        ImageFolderDataset small = ImageFolderDataset.open(tmp, 10, 3, false, null);
        float[] s = new float[3 * 100];
        small.read(0, false, s, 0);
        for (int x = 0; x < 10; x++) assertEquals(f(12 * (5 + x) + 3), s[50 + x]);
    }

    @Test
    void resizedConstantStaysConstantAndGradientMonotone() throws IOException {
        write(tmp.resolve("c/const.png"), 53, 37, (x, y) -> rgb(90, 180, 30));
        write(tmp.resolve("c/grad.png"), 53, 37, (x, y) -> rgb(x * 4, 0, 255 - y * 6));
        ImageFolderDataset ds = ImageFolderDataset.open(tmp, 12, 3, false, null);  // BOX to 26x18, BICUBIC to 17x12
        float[] out = new float[3 * 144];
        ds.read(0, false, out, 0);
        for (int i = 0; i < 144; i++) {
            assertEquals(f(90), out[i]);
            assertEquals(f(180), out[144 + i]);
            assertEquals(f(30), out[288 + i]);
        }
        ds.read(1, false, out, 0);
        for (int y = 0; y < 12; y++) {
            for (int x = 1; x < 12; x++) assertTrue(out[y * 12 + x] > out[y * 12 + x - 1], "red rises along x");
            if (y > 0) for (int x = 0; x < 12; x++) assertTrue(out[288 + y * 12 + x] < out[288 + (y - 1) * 12 + x], "blue falls along y");
        }
    }

    @Test
    void grayscaleConversion() throws IOException {
        write(tmp.resolve("c/color.png"), 3, 3, (x, y) -> rgb(10, 200, 77));
        BufferedImage gray = new BufferedImage(3, 3, BufferedImage.TYPE_BYTE_GRAY);
        gray.getRaster().setSample(1, 1, 0, 100);
        Path grayFile = tmp.resolve("c/gray.png");
        ImageIO.write(gray, "png", grayFile.toFile());

        ImageFolderDataset one = ImageFolderDataset.open(tmp, 3, 1, false, null);
        float[] out = new float[9];
        one.read(0, false, out, 0);
        assertEquals(f(129), out[4]);  // 0.299*10 + 0.587*200 + 0.114*77 = 129.2, as PIL convert("L")
        one.read(1, false, out, 0);
        assertEquals(f(100), out[4]);  // stored gray value, not gamma-brightened
        assertEquals(f(0), out[0]);

        ImageFolderDataset three = ImageFolderDataset.open(tmp, 3, 3, false, null);
        float[] rgb = new float[27];
        three.read(1, false, rgb, 0);
        for (int c = 0; c < 3; c++) assertEquals(f(100), rgb[9 * c + 4]);  // gray replicated
    }

    @Test
    void jpegDecodes() throws IOException {
        write(tmp.resolve("c/flat.jpg"), 16, 16, (x, y) -> rgb(50, 100, 150));
        ImageFolderDataset ds = ImageFolderDataset.open(tmp, 8, 3, false, null);
        float[] out = new float[3 * 64];
        ds.read(0, false, out, 0);
        for (int c = 0; c < 3; c++) assertEquals(f(50 * (c + 1)), out[64 * c + 27], 4 / 127.5f);  // lossy: a few levels
    }

    @Test
    void corruptImagesFailAtReadOrAreSkipped() throws IOException {
        write(tmp.resolve("c/good.png"), 8, 8, (x, y) -> rgb(x * 30, y * 30, 0));
        Path junk = tmp.resolve("c/x.png");
        byte[] bytes = new byte[300];
        new Random(1).nextBytes(bytes);
        System.arraycopy("junk".getBytes(), 0, bytes, 0, 4);  // no format's magic
        Files.write(junk, bytes);
        Random r = new Random(2);
        Path full = write(tmp.resolve("c/y.png"), 64, 64, (x, y) -> r.nextInt(1 << 24));  // noise: incompressible
        Path cut = tmp.resolve("c/z.png");
        byte[] png = Files.readAllBytes(full);
        Files.write(cut, Arrays.copyOf(png, png.length / 2));
        Files.delete(full);

        ImageFolderDataset lazy = ImageFolderDataset.open(tmp, 8, 3, false, null);
        assertEquals(3, lazy.size());
        float[] out = new float[3 * 64];
        lazy.read(0, false, out, 0);
        for (int i : new int[] {1, 2}) {
            IOException e = assertThrows(IOException.class, () -> lazy.read(i, false, out, 0));
            assertTrue(e.getMessage().startsWith(lazy.describe(i) + ": could not be decoded"), e.getMessage());
            assertTrue(!e.getMessage().contains("\n"));
        }
        assertEquals(junk.toString(), lazy.describe(1));

        List<String> warnings = new ArrayList<>();
        ImageFolderDataset checked = ImageFolderDataset.open(tmp, 8, 3, true, warnings::add);
        assertEquals(1, checked.size());
        assertTrue(checked.describe(0).endsWith("good.png"));
        assertEquals(3, warnings.size(), warnings.toString());
        assertTrue(warnings.get(0).contains("skipped 2 of 3"), warnings.get(0));
        assertTrue(warnings.get(1).contains(junk.toString()) && warnings.get(2).contains(cut.toString()), warnings.toString());
    }

    @Test
    void folderErrorsNameThePath() throws IOException {
        IOException e = assertThrows(DatasetException.class, () -> ImageFolderDataset.open(tmp, 8, 3, false, null));
        assertEquals(tmp + ": empty folder; expected one sub-folder of images per class", e.getMessage());

        Files.writeString(tmp.resolve("loose.png"), "x");
        e = assertThrows(DatasetException.class, () -> ImageFolderDataset.open(tmp, 8, 3, false, null));
        assertTrue(e.getMessage().startsWith(tmp + ": no class sub-folders"), e.getMessage());

        write(tmp.resolve("a/ok.png"), 2, 2, (x, y) -> 0);
        Files.createDirectories(tmp.resolve("b/deeper"));
        Files.writeString(tmp.resolve("b/deeper/readme.txt"), "x");
        e = assertThrows(DatasetException.class, () -> ImageFolderDataset.open(tmp, 8, 3, false, null));
        assertEquals(tmp.resolve("b") + ": class folder has no .png, .jpg or .jpeg images", e.getMessage());
    }

    @Test
    void concurrentReadsAgree() throws Exception {
        for (int i = 0; i < 12; i++) {
            int k = i;
            write(tmp.resolve("c" + i % 3 + "/" + i + ".png"), 30 + i, 20, (x, y) -> rgb((x * k) & 255, y * 9, k * 20));
        }
        ImageFolderDataset ds = ImageFolderDataset.open(tmp, 16, 3, false, null);
        int len = ds.imageLength();
        float[] serial = new float[ds.size() * len];
        for (int i = 0; i < ds.size(); i++) ds.read(i, i % 2 == 0, serial, i * len);
        float[] parallel = new float[ds.size() * len];
        IntStream.range(0, 4 * ds.size()).parallel().forEach(j -> {
            int i = j % ds.size();
            try {
                ds.read(i, i % 2 == 0, parallel, i * len);
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });
        assertArrayEquals(serial, parallel);
    }
}
