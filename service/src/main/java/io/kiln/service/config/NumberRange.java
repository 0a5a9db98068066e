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
 * A setting's whole number lies in [min, max]. The message names the setting and the bound it broke ("kiln.x: must
 * be at least 1"; a byte count of a MiB or more also in binary units, "1048576 (1 MiB)"), so that a start refused
 * for it says what to change. Null passes.
 */
@Retention(RUNTIME)
@Target({FIELD, METHOD, PARAMETER, TYPE_USE})
@Constraint(validatedBy = {})
public @interface NumberRange {
    /** The setting as application.yml names it, {@code kiln.upload-limit-bytes}. */
    String setting();

    long min();

    long max();

    /** What a violation says when no validator wrote its own message (ours always does: {@link SettingBounds}). */
    String message() default "{setting}: must be between {min} and {max}";

    Class<?>[] groups() default {};

    Class<?>[] payload() default {};
}
