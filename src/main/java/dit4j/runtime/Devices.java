package dit4j.runtime;

import dit4j.OptionException;

/** The compute device named by {@code --device}. This build ships libtorch's CPU natives. */
public final class Devices {
    private Devices() {}

    /** Accepts {@code cpu}; {@code cuda[:i]} fails with how to get a CUDA build. */
    public static void check(String device) {
        if (device.equals("cpu")) return;
        if (device.matches("cuda(:\\d+)?")) {
            throw new OptionException("--device " + device + ": this build has libtorch's CPU natives (linux-x86_64); CUDA needs the linux-x86_64-gpu natives");
        }
        throw new OptionException("--device must be cpu or cuda[:N], got '" + device + "'");
    }
}
