package io.kiln.engine.cli;

import io.kiln.engine.backend.Precision;
import picocli.CommandLine.Option;

/**
 * {@code --precision} of the commands that run on a device they are given ({@code bench}, {@code gpu-check}); a
 * job's own is its spec's {@code training.precision}. Parsed by the command, so that a bad value exits like its
 * other bad input.
 */
final class PrecisionOption {
    @Option(names = "--precision", paramLabel = "P", defaultValue = "fp32",
            description = "fp32 (default) or tf32: TF32 tensor-core math for matrix products and convolutions on GPUs "
                    + "that have it (Ampere and newer)")
    String text;

    Precision parse() {
        return Precision.parse(text);
    }
}
