package dit4j.cli;

import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/** A console progress bar (me.tongfei:progressbar) on stderr, so stdout stays clean for results. */
final class Progress implements AutoCloseable {
    private final ProgressBar bar;

    Progress(String task, long max) {
        bar = new ProgressBarBuilder()
                .setTaskName(task)
                .setInitialMax(max)
                .setStyle(ProgressBarStyle.ASCII)
                .setUpdateIntervalMillis(500)
                .setConsumer(new ConsoleProgressBarConsumer(System.err, 110))
                .showSpeed()
                .build();
    }

    void stepTo(long n, String extra) {
        bar.stepTo(n);
        if (extra != null) bar.setExtraMessage(extra);
    }

    void maxHint(long max) {
        bar.maxHint(max);
    }

    @Override
    public void close() {
        bar.close();
    }
}
