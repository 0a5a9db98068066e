package io.kiln.service.config;

import io.micronaut.core.annotation.AnnotationValue;
import io.micronaut.core.annotation.NonNull;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.core.convert.ConversionService;
import io.micronaut.validation.validator.constraints.ConstraintValidator;
import io.micronaut.validation.validator.constraints.ConstraintValidatorContext;
import jakarta.inject.Singleton;
import java.time.Duration;

/**
 * Checks the bounds of every numeric and duration setting ({@link NumberRange}, {@link DurationRange}) of
 * {@link KilnConfig}, {@link KilnLimits} and the SLURM settings, and words what a value out of them is told: one
 * rule for all, so that each setting states only its name and bounds.
 */
final class SettingBounds {
    private static final long MIB = 1L << 20;
    private static final long GIB = 1L << 30;
    private static final long TIB = 1L << 40;

    private SettingBounds() {
    }

    /** The message for {@code value} of {@code setting} outside [min, max], or null inside. */
    @Nullable
    static String outside(String setting, long value, long min, long max) {
        if (value < min) {
            return setting + ": must be at least " + shown(setting, min);
        }
        if (value > max) {
            return setting + ": must be at most " + shown(setting, max);
        }
        return null;
    }

    /** The message for {@code value} of {@code setting} outside [min, max] (as written, "10m"), or null inside. */
    @Nullable
    static String outside(String setting, Duration value, String min, String max) {
        if (value.compareTo(duration(min)) < 0 || value.compareTo(duration(max)) > 0) {
            return setting + ": must be between " + min + " and " + max;
        }
        return null;
    }

    static Duration duration(String text) {
        return ConversionService.SHARED.convertRequired(text, Duration.class);
    }

    /** A bound as the message shows it: a byte count of a MiB or more also in the largest binary unit that divides it. */
    private static String shown(String setting, long bound) {
        if (!setting.endsWith("-bytes")) {
            return Long.toString(bound);
        }
        for (long unit : new long[] {TIB, GIB, MIB}) {
            if (bound >= unit && bound % unit == 0) {
                return bound + " (" + bound / unit + (unit == TIB ? " TiB)" : unit == GIB ? " GiB)" : " MiB)");
            }
        }
        return Long.toString(bound);
    }

    /** A failed check's message, made the violation's own (it holds no template variables). */
    private static boolean judged(@Nullable String message, ConstraintValidatorContext context) {
        if (message == null) {
            return true;
        }
        context.messageTemplate(message);
        return false;
    }

    @Singleton
    static final class Numbers implements ConstraintValidator<NumberRange, Number> {
        @Override
        public boolean isValid(@Nullable Number value, @NonNull AnnotationValue<NumberRange> range,
                               @NonNull ConstraintValidatorContext context) {
            return value == null || judged(outside(range.stringValue("setting").orElseThrow(), value.longValue(),
                    range.longValue("min").orElseThrow(), range.longValue("max").orElseThrow()), context);
        }
    }

    @Singleton
    static final class Durations implements ConstraintValidator<DurationRange, Duration> {
        @Override
        public boolean isValid(@Nullable Duration value, @NonNull AnnotationValue<DurationRange> range,
                               @NonNull ConstraintValidatorContext context) {
            return value == null || judged(outside(range.stringValue("setting").orElseThrow(), value,
                    range.stringValue("min").orElseThrow(), range.stringValue("max").orElseThrow()), context);
        }
    }
}
