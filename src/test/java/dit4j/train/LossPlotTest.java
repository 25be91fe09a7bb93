package dit4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.jfree.chart.axis.LogAxis;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LossPlotTest {
    @TempDir
    Path tmp;

    static List<double[]> curve(double start, double end, int n) {
        List<double[]> pts = new ArrayList<>();
        for (int i = 0; i < n; i++) pts.add(new double[] {i * 10, start * Math.pow(end / start, i / (n - 1.0)) * (1 + 0.2 * Math.sin(i))});
        return pts;
    }

    @Test
    void writesReadablePngOfTheRightSize() throws Exception {
        Path f = tmp.resolve("loss.png");
        LossPlot.write(f, curve(1.0, 0.1, 300), "DiT-S/2 loss");
        BufferedImage img = ImageIO.read(f.toFile());
        assertEquals(900, img.getWidth());
        assertEquals(500, img.getHeight());

        Map<String, List<double[]>> runs = new LinkedHashMap<>();
        runs.put("float32", curve(1.0, 0.1, 200));
        runs.put("bfloat16", curve(1.1, 0.12, 150));
        Path g = tmp.resolve("compare.png");
        LossPlot.write(g, runs, "float32 vs bfloat16");
        assertEquals(900, ImageIO.read(g.toFile()).getWidth());
    }

    @Test
    void logScaleOnlyWhenLossesSpanMoreThan10x() {
        assertTrue(LossPlot.useLogScale(new double[] {1.0, 0.09}));
        assertFalse(LossPlot.useLogScale(new double[] {1.0, 0.11}));
        assertFalse(LossPlot.useLogScale(new double[] {1.0, 0.01, 0.0}), "non-positive values cannot go on a log axis");
        assertTrue(LossPlot.useLogScale(new double[] {2.0}, new double[] {0.15}), "span is over all series");
        assertFalse(LossPlot.useLogScale(new double[] {1.0, Double.NaN, 0.5}));
        assertTrue(LossPlot.chart(Map.of("a", curve(10, 0.1, 50)), "t").getXYPlot().getRangeAxis() instanceof LogAxis);
        assertFalse(LossPlot.chart(Map.of("a", curve(1, 0.5, 50)), "t").getXYPlot().getRangeAxis() instanceof LogAxis);
    }

    @Test
    void emaIsBiasCorrected() {
        double[] s = LossPlot.ema(new double[] {2, 2, 2}, 0.98);
        for (double v : s) assertEquals(2.0, v, 1e-12);
        double[] t = LossPlot.ema(new double[] {1, 3}, 0.5);
        assertEquals(1.0, t[0], 1e-12);
        assertEquals((0.25 + 1.5) / 0.75, t[1], 1e-12);
    }

    @Test
    void smoothingHorizonFollowsThePointCount() {
        assertEquals(0.0, LossPlot.smoothing(40), 1e-12, "a short sparse log is drawn as is");
        assertEquals(0.5, LossPlot.smoothing(100), 1e-12);
        assertEquals(LossPlot.MAX_SMOOTHING, LossPlot.smoothing(100_000), 1e-12);
    }

    @Test
    void emptyInputIsRejected() {
        Path f = tmp.resolve("empty.png");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LossPlot.write(f, List.of(), "t"));
        assertTrue(e.getMessage().contains("empty.png"), e.getMessage());
        Map<String, List<double[]>> runs = new LinkedHashMap<>();
        runs.put("float32", curve(1, 0.5, 10));
        runs.put("bfloat16", List.of());
        IllegalArgumentException e2 = assertThrows(IllegalArgumentException.class, () -> LossPlot.write(f, runs, "t"));
        assertTrue(e2.getMessage().contains("bfloat16"), e2.getMessage());
        assertFalse(f.toFile().exists());
    }
}
