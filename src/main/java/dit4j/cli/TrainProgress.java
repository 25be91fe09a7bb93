package dit4j.cli;

import dit4j.train.TrainState;
import dit4j.train.Trainer;
import dit4j.train.Training;
import java.nio.file.Path;
import sun.misc.Signal;

/** Runs a {@link Training} with a progress bar; Ctrl-C and SIGTERM save a checkpoint and stop. */
final class TrainProgress {
    private TrainProgress() {}

    /** The exit status a stop by signal gets: 130 for SIGINT, 143 for SIGTERM; 0 when none came. */
    static volatile int signalExit;

    static Trainer.Result run(Training t) throws Exception {
        Progress[] bar = new Progress[1];
        Trainer.Listener listener = new Trainer.Listener() {
            long lastPlot;

            @Override
            public void onStart(TrainState s, dit4j.train.RunDir r) {
                bar[0] = new Progress("train", s.totalSteps);
                bar[0].stepTo(s.step, null);
            }

            @Override
            public void onStep(Trainer.StepStats st) {
                bar[0].maxHint(st.totalSteps());
                bar[0].stepTo(st.step(), String.format("loss %.4f  %.0f img/s", st.smoothedLoss(), st.imagesPerSec()));
            }

            @Override
            public void onCheckpoint(Path file, long step) {
                // The plot is for people: redrawn at most once a minute, and always at the end.
                if (System.nanoTime() - lastPlot < 60e9 && step < t.state.totalSteps) return;
                lastPlot = System.nanoTime();
                t.drawLossPlot(Main::warn);
            }

            @Override
            public void onMessage(String message) {
                System.err.println("\n" + message);
            }
        };
        for (String name : new String[] {"INT", "TERM"}) {
            Signal.handle(new Signal(name), sig -> {
                signalExit = 128 + sig.getNumber();
                System.err.println("\n" + (name.equals("INT") ? "interrupted" : "terminated") + ": saving a checkpoint (again to quit at once)");
                Signal.handle(new Signal(name), again -> Runtime.getRuntime().halt(128 + again.getNumber()));
                t.requestStop();
            });
        }
        try {
            return t.run(listener);
        } finally {
            if (bar[0] != null) bar[0].close();
        }
    }
}
