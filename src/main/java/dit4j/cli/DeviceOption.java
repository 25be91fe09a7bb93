package dit4j.cli;

import dit4j.runtime.Devices;
import picocli.CommandLine.Option;

/** {@code --device}. */
public final class DeviceOption {
    @Option(names = "--device", paramLabel = "D", defaultValue = "cpu", description = "cpu, or cuda[:N] on a CUDA build (default ${DEFAULT-VALUE}).")
    String device;

    /** The device of a command that runs on the CPU only: cuda is refused with the reason. */
    String checked() {
        Devices.requireCpu(device, "this command");
        return device;
    }

    /** The device of a command that can run on CUDA (with the CUDA natives). */
    String checkedAllowingCuda() {
        Devices.check(device);
        return device;
    }
}
