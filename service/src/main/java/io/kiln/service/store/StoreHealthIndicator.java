package io.kiln.service.store;

import io.micronaut.health.HealthStatus;
import io.micronaut.management.health.indicator.HealthIndicator;
import io.micronaut.management.health.indicator.HealthResult;
import jakarta.inject.Singleton;
import java.util.LinkedHashMap;
import java.util.Map;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Mono;

/** /health's {@code kiln-store}: DOWN, with the reason and since when, while the job store cannot be written. */
@Singleton
public class StoreHealthIndicator implements HealthIndicator {
    private final StoreHealth health;

    StoreHealthIndicator(StoreHealth health) {
        this.health = health;
    }

    @Override
    public Publisher<HealthResult> getResult() {
        return Mono.fromSupplier(() -> health.down().map(d -> {
            Map<String, Object> details = new LinkedHashMap<>();
            details.put("writable", false);
            details.put("error", d.reason());
            details.put("since", d.since().toString());
            return HealthResult.builder("kiln-store", HealthStatus.DOWN).details(details).build();
        }).orElseGet(() -> HealthResult.builder("kiln-store", HealthStatus.UP).details(Map.of("writable", true)).build()));
    }
}
