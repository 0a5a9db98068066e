package io.kiln.service.config;

import io.micronaut.core.convert.ConversionContext;
import io.micronaut.core.convert.TypeConverter;
import jakarta.inject.Singleton;
import java.util.Locale;
import java.util.Optional;

/**
 * Whether this server also runs jobs on its CPU ({@code kiln.cpu-slot}): {@code auto} (the default) only when it
 * has no GPU, so that a GPU server does not spend its cores on jobs that would crowd out the GPUs' data loading;
 * {@code on} always; {@code off} never (a server that only runs GPU jobs, or none). {@code true} and
 * {@code false} are accepted for {@code on} and {@code off}, as the setting was first a boolean.
 */
public enum CpuSlot {
    AUTO, ON, OFF;

    /** Whether a server with {@code gpus} GPUs has a CPU slot. */
    public boolean enabled(int gpus) {
        return this == ON || this == AUTO && gpus == 0;
    }

    public static CpuSlot parse(String text) {
        return switch (text.trim().toLowerCase(Locale.ROOT)) {
            case "auto", "" -> AUTO;
            case "on", "true" -> ON;
            case "off", "false" -> OFF;
            default -> throw new IllegalArgumentException("kiln.cpu-slot: must be auto, on or off (or true/false), got \""
                    + text + "\"");
        };
    }

    /**
     * Reads the setting's text, true and false included. A value it does not know stops the start: left
     * unconverted, the setting would fall back to its default without a word.
     */
    @Singleton
    static final class Converter implements TypeConverter<CharSequence, CpuSlot> {
        @Override
        public Optional<CpuSlot> convert(CharSequence text, Class<CpuSlot> target, ConversionContext context) {
            return Optional.of(parse(text.toString()));
        }
    }
}
