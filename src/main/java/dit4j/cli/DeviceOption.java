package dit4j.cli;

import dit4j.runtime.Devices;
import picocli.CommandLine.Option;

/** {@code --device}. */
public final class DeviceOption {
    @Option(names = "--device", paramLabel = "D", defaultValue = "cpu", description = "cpu, or cuda[:N] on a CUDA build (default ${DEFAULT-VALUE}).")
    String device;

    /** The device, checked: cuda needs a build with the CUDA natives and a visible device. */
    String checked() {
        Devices.check(device);
        return device;
    }
}
