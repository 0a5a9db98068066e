package io.kiln.engine.data;

/**
 * The parts of a dataset a training run uses, all with the same {@link #normalization()}; {@code validation}
 * is null without a validation split. Built by {@link LoadedData#prepare}.
 */
public record PreparedData(Dataset train, Dataset validation, Dataset test, String format,
                           Normalization normalization) {
}
