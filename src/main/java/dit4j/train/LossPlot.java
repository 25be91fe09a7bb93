package dit4j.train;

import dit4j.io.AtomicFiles;
import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.nio.file.Path;
import java.math.BigDecimal;
import java.math.MathContext;
import java.text.FieldPosition;
import java.text.NumberFormat;
import java.text.ParsePosition;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.axis.NumberTickUnit;
import org.jfree.chart.axis.ValueAxis;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.xy.DefaultXYDataset;

/**
 * Loss-curve PNGs: each run's raw loss as a thin light line under its TensorBoard-style smoothed
 * curve (bias-corrected EMA over ~2% of the run's points) as a bold line; log-scale Y when the losses span more than 10x.
 */
public final class LossPlot {
    private LossPlot() {}

    public static final int WIDTH = 900, HEIGHT = 500;
    /** The most smoothing a curve gets (a 50-point horizon), for runs logged every step. */
    public static final double MAX_SMOOTHING = 0.98;
    static final double LOG_SPAN = 10;

    private static final Color[] PALETTE = {
        new Color(0x1f77b4), new Color(0xd62728), new Color(0x2ca02c), new Color(0xff7f0e),
        new Color(0x9467bd), new Color(0x8c564b), new Color(0xe377c2), new Color(0x7f7f7f),
    };

    /** One run; {@code points} are (step, loss) pairs. */
    public static void write(Path png, List<double[]> points, String title) throws IOException {
        if (points == null || points.isEmpty()) throw new IllegalArgumentException("loss plot " + png + ": no (step, loss) points");
        Map<String, List<double[]>> one = new LinkedHashMap<>();
        one.put("loss", points);
        write(png, one, title);
    }

    /** Several named runs (for example "float32" and "bfloat16") on one chart, in map order. */
    public static void write(Path png, Map<String, List<double[]>> series, String title) throws IOException {
        if (series == null || series.isEmpty()) throw new IllegalArgumentException("loss plot " + png + ": no series");
        for (Map.Entry<String, List<double[]>> e : series.entrySet()) {
            if (e.getValue() == null || e.getValue().isEmpty()) throw new IllegalArgumentException("loss plot " + png + ": series '" + e.getKey() + "' has no points");
        }
        if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
        JFreeChart chart = chart(series, title);
        AtomicFiles.write(png, out -> ChartUtils.writeChartAsPNG(out, chart, WIDTH, HEIGHT));
    }

    /** A metric over steps (FID, say): its points joined and marked, no smoothing. */
    public static void writeMetric(Path png, List<double[]> points, String title, String yLabel) throws IOException {
        double[][] xy = finite(points);
        if (xy[0].length == 0) throw new IllegalArgumentException("plot " + png + ": no finite (step, " + yLabel + ") points");
        if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
        DefaultXYDataset data = new DefaultXYDataset();
        data.addSeries(yLabel, xy);
        JFreeChart chart = ChartFactory.createXYLineChart(title, "step", yLabel, data, PlotOrientation.VERTICAL, false, false, false);
        chart.setBackgroundPaint(Color.WHITE);
        XYPlot plot = chart.getXYPlot();
        XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(true, true);
        renderer.setSeriesPaint(0, PALETTE[1]);
        renderer.setSeriesStroke(0, new BasicStroke(2.2f, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND));
        plot.setRenderer(renderer);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(new Color(0xdddddd));
        plot.setRangeGridlinePaint(new Color(0xdddddd));
        ((NumberAxis) plot.getDomainAxis()).setAutoRangeIncludesZero(false);
        ((NumberAxis) plot.getRangeAxis()).setAutoRangeIncludesZero(false);
        AtomicFiles.write(png, out -> ChartUtils.writeChartAsPNG(out, chart, WIDTH, HEIGHT));
    }

    static JFreeChart chart(Map<String, List<double[]>> series, String title) {
        DefaultXYDataset data = new DefaultXYDataset();
        XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(true, false);
        List<double[]> allLosses = new ArrayList<>();
        boolean single = series.size() == 1;
        int s = 0, k = 0;
        for (Map.Entry<String, List<double[]>> e : series.entrySet()) {
            double[][] raw = finite(e.getValue());
            double[][] smooth = {raw[0], ema(raw[1], smoothing(raw[1].length))};
            allLosses.add(raw[1]);
            Color c = PALETTE[k++ % PALETTE.length];
            String name = single ? "raw" : e.getKey() + " (raw)";
            data.addSeries(name, raw);
            renderer.setSeriesPaint(s, new Color(c.getRed(), c.getGreen(), c.getBlue(), 70));
            renderer.setSeriesStroke(s, new BasicStroke(0.8f));
            renderer.setSeriesVisibleInLegend(s, single);
            s++;
            data.addSeries(single ? "smoothed" : e.getKey(), smooth);
            renderer.setSeriesPaint(s, c);
            renderer.setSeriesStroke(s, new BasicStroke(2.2f, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND));
            s++;
        }
        JFreeChart chart = ChartFactory.createXYLineChart(title, "step", "loss", data, PlotOrientation.VERTICAL, true, false, false);
        chart.setBackgroundPaint(Color.WHITE);
        XYPlot plot = chart.getXYPlot();
        plot.setRenderer(renderer);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(new Color(0xdddddd));
        plot.setRangeGridlinePaint(new Color(0xdddddd));
        ((NumberAxis) plot.getDomainAxis()).setAutoRangeIncludesZero(false);
        double[][] losses = allLosses.toArray(new double[0][]);
        if (useLogScale(losses)) {
            ValueAxis linear = plot.getRangeAxis();
            LogAxis y = new LogAxis("loss");
            y.setLabelFont(linear.getLabelFont());
            y.setTickLabelFont(linear.getTickLabelFont());
            y.setSmallestValue(1e-12);
            y.setNumberFormatOverride(new Significant3()); // 0.5 rather than 10^-0.3
            // Ticks at powers of two (1, 0.5, 0.25, ...) read better than 10^(k/10); over a wide span, the default.
            if (maxFinite(losses) / minFinite(losses) <= 1000) {
                y.setAutoTickUnitSelection(false);
                y.setTickUnit(new NumberTickUnit(Math.log10(2)));
            }
            plot.setRangeAxis(y);
        } else {
            ((NumberAxis) plot.getRangeAxis()).setAutoRangeIncludesZero(false);
        }
        return chart;
    }

    /** True when all losses are positive and the largest is more than 10 times the smallest. */
    static boolean useLogScale(double[]... losses) {
        double min = minFinite(losses);
        return min > 0 && maxFinite(losses) / min > LOG_SPAN;
    }

    /** Tick labels with three significant digits, plain notation. */
    private static final class Significant3 extends NumberFormat {
        @Override
        public StringBuffer format(double v, StringBuffer to, FieldPosition pos) {
            if (!Double.isFinite(v) || v == 0) return to.append(v == 0 ? "0" : String.valueOf(v));
            return to.append(new BigDecimal(v).round(new MathContext(3)).stripTrailingZeros().toPlainString());
        }

        @Override
        public StringBuffer format(long v, StringBuffer to, FieldPosition pos) {
            return format((double) v, to, pos);
        }

        @Override
        public Number parse(String source, ParsePosition pos) {
            throw new UnsupportedOperationException("tick labels are only formatted");
        }
    }

    private static double maxFinite(double[]... losses) {
        double max = Double.NEGATIVE_INFINITY;
        for (double[] ls : losses) for (double v : ls) if (Double.isFinite(v)) max = Math.max(max, v);
        return max;
    }

    private static double minFinite(double[]... losses) {
        double min = Double.POSITIVE_INFINITY;
        for (double[] ls : losses) for (double v : ls) if (Double.isFinite(v)) min = Math.min(min, v);
        return min;
    }

    /** EMA weight whose horizon is 2% of the points: a fixed weight would lag behind a sparsely logged run. */
    static double smoothing(int points) {
        return Math.max(0, Math.min(MAX_SMOOTHING, 1 - 50.0 / points));
    }

    /**
     * TensorBoard's smoothing: an EMA started at 0 and divided by {@code 1 - w^n} so early points are
     * not pulled toward 0.
     */
    static double[] ema(double[] values, double weight) {
        double[] out = new double[values.length];
        double last = 0;
        for (int i = 0; i < values.length; i++) {
            last = last * weight + (1 - weight) * values[i];
            out[i] = last / (1 - Math.pow(weight, i + 1));
        }
        return out;
    }

    /** Columns {steps, losses} of the points whose step and loss are finite (NaN losses do not plot). */
    private static double[][] finite(List<double[]> points) {
        int n = 0;
        for (double[] p : points) if (p.length >= 2 && Double.isFinite(p[0]) && Double.isFinite(p[1])) n++;
        double[][] xy = new double[2][n];
        int i = 0;
        for (double[] p : points) {
            if (p.length < 2) throw new IllegalArgumentException("loss point needs (step, loss), got " + p.length + " values");
            if (!Double.isFinite(p[0]) || !Double.isFinite(p[1])) continue;
            xy[0][i] = p[0];
            xy[1][i++] = p[1];
        }
        return xy;
    }
}
