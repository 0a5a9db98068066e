package io.kiln.service.config;

import io.micronaut.core.annotation.AnnotationValue;
import io.micronaut.core.annotation.NonNull;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.core.convert.ConversionService;
import io.micronaut.validation.validator.constraints.ConstraintValidator;
import io.micronaut.validation.validator.constraints.ConstraintValidatorContext;
import jakarta.inject.Singleton;
import java.time.Duration;

/** Checks {@link DurationRange}. */
@Singleton
final class DurationRangeValidator implements ConstraintValidator<DurationRange, Duration> {
    @Override
    public boolean isValid(@Nullable Duration value, @NonNull AnnotationValue<DurationRange> range,
                           @NonNull ConstraintValidatorContext context) {
        if (value == null) {
            return true;
        }
        Duration min = parse(range.stringValue("min").orElseThrow());
        Duration max = parse(range.stringValue("max").orElseThrow());
        return value.compareTo(min) >= 0 && value.compareTo(max) <= 0;
    }

    static Duration parse(String text) {
        return ConversionService.SHARED.convertRequired(text, Duration.class);
    }
}
