package io.kiln.service.api;

import io.kiln.service.store.StoreHealth;
import io.micronaut.data.connection.exceptions.ConnectionException;
import io.micronaut.data.exceptions.DataAccessException;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.server.exceptions.ExceptionHandler;
import io.micronaut.transaction.exceptions.TransactionException;
import jakarta.inject.Singleton;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A request that failed on the job store: {@code 503} in {@link ApiErrors}' shape when the store is what failed
 * ({@link StoreHealth}: it cannot be written, or reached), which also marks it down; otherwise a {@code 500} that
 * keeps the database's text out of the answer.
 */
final class StoreErrors {
    private static final Logger LOG = LoggerFactory.getLogger(StoreErrors.class);

    private StoreErrors() {
    }

    static HttpResponse<?> answer(StoreHealth health, HttpRequest<?> request, RuntimeException e) {
        return health.refusal(e).<HttpResponse<?>>map(u -> ApiErrors.answer(HttpStatus.SERVICE_UNAVAILABLE,
                u.getMessage(), null)).orElseGet(() -> {
                    LOG.error("{} {}: the job store refused the request", request.getMethod(), request.getPath(), e);
                    return ApiErrors.answer(HttpStatus.INTERNAL_SERVER_ERROR, "the job store refused the request; "
                            + "the service log says why", null);
                });
    }

    /** One handler per kind of store exception, each answered by {@link #answer}. */
    abstract static class Handler<E extends RuntimeException> implements ExceptionHandler<E, HttpResponse<?>> {
        private final StoreHealth health;

        Handler(StoreHealth health) {
            this.health = health;
        }

        @Override
        public HttpResponse<?> handle(HttpRequest request, E e) {
            return answer(health, request, e);
        }
    }

    @Singleton
    static class DataAccessHandler extends Handler<DataAccessException> {
        DataAccessHandler(StoreHealth health) {
            super(health);
        }
    }

    @Singleton
    static class TransactionHandler extends Handler<TransactionException> {
        TransactionHandler(StoreHealth health) {
            super(health);
        }
    }

    @Singleton
    static class ConnectionHandler extends Handler<ConnectionException> {
        ConnectionHandler(StoreHealth health) {
            super(health);
        }
    }
}
