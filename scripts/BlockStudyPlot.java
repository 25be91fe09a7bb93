import dit4j.io.AtomicFiles;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * The block study's figure (scripts/block_study.sh): judge agreement and FD of each run's samples
 * against training steps and against measured training minutes, as the paper's Figure 5 plots
 * FID against steps. Run as a source file on the dit4j jar's classpath (its JFreeChart):
 *
 *   java -cp target/dit4j.jar scripts/BlockStudyPlot.java runs/block-study/points.tsv docs/img/block-study.png
 */
public class BlockStudyPlot {
    static final Color[] PALETTE = {new Color(0x1f77b4), new Color(0xd62728), new Color(0x2ca02c), new Color(0xff7f0e),
        new Color(0x9467bd), new Color(0x8c564b)};

    public static void main(String[] args) throws Exception {
        System.setProperty("java.awt.headless", "true");
        List<String> lines = Files.readAllLines(Path.of(args[0]));
        // run -> rows of (step, minutes, agreement %, fd)
        Map<String, List<double[]>> runs = new LinkedHashMap<>();
        for (String line : lines.subList(1, lines.size())) {
            if (line.isBlank()) continue;
            String[] f = line.split("\t");
            runs.computeIfAbsent(f[0], k -> new java.util.ArrayList<>())
                    .add(new double[] {Double.parseDouble(f[1]), Double.parseDouble(f[2]), 100 * Double.parseDouble(f[3]), Double.parseDouble(f[4])});
        }
        int w = 700, h = 420;
        BufferedImage img = new BufferedImage(2 * w, 2 * h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        String[] x = {"training step", "training time (minutes, as measured on the shared machine)"};
        String[] y = {"judge agreement (%, higher is better)", "FD to the test set (lower is better)"};
        for (int col = 0; col < 2; col++) {
            for (int row = 0; row < 2; row++) {
                chart(runs, col, 2 + row, x[col], y[row]).draw(g, new Rectangle2D.Double(col * w, row * h, w, h));
            }
        }
        g.dispose();
        AtomicFiles.write(Path.of(args[1]), out -> ImageIO.write(img, "png", out));
        System.out.println(args[1]);
    }

    static JFreeChart chart(Map<String, List<double[]>> runs, int xi, int yi, String xLabel, String yLabel) {
        XYSeriesCollection data = new XYSeriesCollection();
        for (Map.Entry<String, List<double[]>> e : runs.entrySet()) {
            XYSeries s = new XYSeries(e.getKey(), false);
            for (double[] p : e.getValue()) s.add(p[xi], p[yi]);
            data.addSeries(s);
        }
        JFreeChart chart = ChartFactory.createXYLineChart(null, xLabel, yLabel, data, PlotOrientation.VERTICAL, true, false, false);
        chart.setBackgroundPaint(Color.WHITE);
        XYPlot plot = chart.getXYPlot();
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(new Color(0xdddddd));
        plot.setRangeGridlinePaint(new Color(0xdddddd));
        XYLineAndShapeRenderer r = new XYLineAndShapeRenderer(true, true);
        for (int i = 0; i < runs.size(); i++) {
            r.setSeriesPaint(i, PALETTE[i % PALETTE.length]);
            // the designs solid, the options on adaLN-Zero dashed
            r.setSeriesStroke(i, i < 4 ? new BasicStroke(2f) : new BasicStroke(2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_ROUND, 1f, new float[] {6f, 4f}, 0f));
        }
        plot.setRenderer(r);
        ((NumberAxis) plot.getRangeAxis()).setAutoRangeIncludesZero(false);
        return chart;
    }
}
