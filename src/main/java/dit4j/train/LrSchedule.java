package dit4j.train;

/** Learning rate per step: linear warmup, then constant (official) or cosine decay to a floor. */
public record LrSchedule(double lr, int warmupSteps, boolean cosine, double minLrRatio, long totalSteps) {

    public static LrSchedule of(TrainOptions o, long totalSteps) {
        boolean cosine = switch (o.lrSchedule) {
            case "constant" -> false;
            case "cosine" -> true;
            default -> throw new IllegalArgumentException("unknown --lr-schedule '" + o.lrSchedule + "': expected constant or cosine");
        };
        return new LrSchedule(o.lr, o.warmupSteps, cosine, o.minLrRatio, totalSteps);
    }

    /** The rate for the update that ends step {@code step} (1-based). */
    public double at(long step) {
        if (warmupSteps > 0 && step <= warmupSteps) return lr * step / warmupSteps;
        if (!cosine || totalSteps <= warmupSteps) return lr;
        double progress = Math.min(1.0, (double) (step - warmupSteps) / (totalSteps - warmupSteps));
        double floor = lr * minLrRatio;
        return floor + (lr - floor) * 0.5 * (1 + Math.cos(Math.PI * progress));
    }

    /** EMA decay at a step: fixed, or warmed up as {@code min(decay, (1 + step) / (10 + step))}. */
    public static double emaDecay(double decay, boolean warmup, long step) {
        return warmup ? Math.min(decay, (1.0 + step) / (10.0 + step)) : decay;
    }
}
