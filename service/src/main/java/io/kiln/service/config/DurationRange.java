package io.kiln.service.config;

import static java.lang.annotation.ElementType.FIELD;
import static java.lang.annotation.ElementType.METHOD;
import static java.lang.annotation.ElementType.PARAMETER;
import static java.lang.annotation.ElementType.TYPE_USE;
import static java.lang.annotation.RetentionPolicy.RUNTIME;

import jakarta.validation.Constraint;
import java.lang.annotation.Retention;
import java.lang.annotation.Target;

/**
 * A setting's duration lies in [min, max] (each as Micronaut reads durations: 500ms, 10s, 5m, 2h, 1d); the message
 * names the setting and both bounds as written here ("kiln.x: must be between 1s and 10m"). Null passes.
 */
@Retention(RUNTIME)
@Target({FIELD, METHOD, PARAMETER, TYPE_USE})
@Constraint(validatedBy = {})
public @interface DurationRange {
    /** The setting as application.yml names it, {@code kiln.cancel-grace}. */
    String setting();

    String min();

    String max();

    /** What a violation says when no validator wrote its own message (ours always does: {@link SettingBounds}). */
    String message() default "{setting}: must be between {min} and {max}";

    Class<?>[] groups() default {};

    Class<?>[] payload() default {};
}
