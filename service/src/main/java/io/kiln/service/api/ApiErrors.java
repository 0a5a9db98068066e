package io.kiln.service.api;

import io.kiln.engine.spec.SpecException;
import io.kiln.service.auth.BearerTokenAuthenticationFetcher;
import io.kiln.service.errors.BadInput;
import io.kiln.service.errors.Conflict;
import io.kiln.service.errors.Forbidden;
import io.kiln.service.errors.LimitReached;
import io.kiln.service.errors.NotFound;
import io.kiln.service.errors.ServiceException;
import io.kiln.service.errors.TooLarge;
import io.kiln.service.errors.Unavailable;
import io.micronaut.context.annotation.Replaces;
import io.micronaut.context.annotation.Requires;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.core.bind.exceptions.UnsatisfiedArgumentException;
import io.micronaut.core.convert.exceptions.ConversionErrorException;
import io.micronaut.http.HttpMethod;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.MutableHttpResponse;
import io.micronaut.http.exceptions.HttpStatusException;
import io.micronaut.http.server.exceptions.ExceptionHandler;
import io.micronaut.http.server.exceptions.HttpStatusHandler;
import io.micronaut.http.server.exceptions.NotAllowedException;
import io.micronaut.http.server.exceptions.NotAcceptableException;
import io.micronaut.http.server.exceptions.UnsupportedMediaException;
import io.micronaut.http.server.exceptions.response.ErrorContext;
import io.micronaut.http.server.exceptions.response.ErrorResponseProcessor;
import io.micronaut.security.authentication.AuthorizationException;
import jakarta.inject.Singleton;
import java.util.Locale;
import java.util.TreeSet;
import java.util.UUID;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Error answers, one shape for all ({@link ApiError}: {@code {"status", "message", "field"}}), {@code field}
 * where the refusal names a request field. The services refuse in their own terms ({@link ServiceException}s, the
 * engine's {@link SpecException}); the framework's own refusals (no token, no route, a wrong method or media
 * type, a body too large, a failure) come through {@link Responses}. No answer quotes the request's URL (a token
 * may ride in its query) or a stack trace: a 500 gives a reference that the log has beside the exception.
 */
public final class ApiErrors {
    /**
     * The media type of every error answer. It names its charset, which also keeps the OpenAPI generator from
     * listing a JSON error under a text or file operation's own media type.
     */
    public static final String MEDIA_TYPE = "application/json;charset=utf-8";
    private static final MediaType ERROR_TYPE = MediaType.of(MEDIA_TYPE);
    private static final Logger LOG = LoggerFactory.getLogger(ApiErrors.class);
    /** Kiln's token format, and a token in a query string: masked wherever a message might quote one. */
    private static final Pattern SECRETS = Pattern.compile("kiln_[0-9a-fA-F]{8,}|(?i)(token=)[^&\\s\"']+");

    private ApiErrors() {
    }

    /** The body of an error answer; the message with anything that looks like a token masked. */
    static ApiError body(int status, String message, @Nullable String field) {
        return new ApiError(status, mask(message), field);
    }

    static String mask(String text) {
        return text == null ? "" : SECRETS.matcher(text).replaceAll(m -> m.group(1) != null ? "$1..." : "kiln_...");
    }

    static HttpStatus status(ServiceException e) {
        return switch (e) {
            case BadInput b -> HttpStatus.BAD_REQUEST;
            case NotFound n -> HttpStatus.NOT_FOUND;
            case Forbidden f -> HttpStatus.FORBIDDEN;
            case Conflict c -> HttpStatus.CONFLICT;
            case LimitReached l -> HttpStatus.TOO_MANY_REQUESTS;
            case TooLarge t -> HttpStatus.REQUEST_ENTITY_TOO_LARGE;
            case Unavailable u -> HttpStatus.SERVICE_UNAVAILABLE;
        };
    }

    static MutableHttpResponse<?> answer(HttpStatus status, String message, @Nullable String field) {
        return HttpResponse.status(status).contentType(ERROR_TYPE)
                .body(body(status.getCode(), message, field));
    }

    @Singleton
    public static class ServiceExceptionHandler implements ExceptionHandler<ServiceException, HttpResponse<?>> {
        @Override
        public HttpResponse<?> handle(HttpRequest request, ServiceException e) {
            return answer(status(e), e.getMessage(), e.field());
        }
    }

    @Singleton
    @Requires(classes = SpecException.class)
    public static class SpecExceptionHandler implements ExceptionHandler<SpecException, HttpResponse<?>> {
        @Override
        public HttpResponse<?> handle(HttpRequest request, SpecException e) {
            return answer(HttpStatus.BAD_REQUEST, e.getMessage(), e.field());
        }
    }

    /** {@link HttpStatusException}s thrown by Kiln or the framework: their status, in the same shape. */
    @Singleton
    @Replaces(HttpStatusHandler.class)
    public static class StatusHandler implements ExceptionHandler<HttpStatusException, HttpResponse<?>> {
        private final Responses responses;

        public StatusHandler(Responses responses) {
            this.responses = responses;
        }

        @Override
        public HttpResponse<?> handle(HttpRequest request, HttpStatusException e) {
            return responses.processResponse(ErrorContext.builder(request).cause(e).errorMessage(e.getMessage()).build(),
                    HttpResponse.status(e.getStatus()));
        }
    }

    /**
     * The framework's error answers (it hands every error it makes itself to the {@link ErrorResponseProcessor}):
     * a message of Kiln's for each kind, never the framework's text that quotes the URL.
     */
    @Singleton
    public static class Responses implements ErrorResponseProcessor<ApiError> {
        @Override
        @SuppressWarnings("unchecked")
        public MutableHttpResponse<ApiError> processResponse(ErrorContext context, MutableHttpResponse<?> response) {
            HttpStatus status = response.status();
            if (context.getRequest().getMethod() == HttpMethod.HEAD) {
                return (MutableHttpResponse<ApiError>) response;
            }
            String field = context.getErrors().isEmpty() ? null
                    : context.getErrors().get(0).getPath().map(p -> p.startsWith("/") ? p.substring(1) : p).orElse(null);
            String message = message(context, status, field);
            return ((MutableHttpResponse<ApiError>) response).contentType(ERROR_TYPE)
                    .body(body(status.getCode(), message, field));
        }

        private static String message(ErrorContext context, HttpStatus status, @Nullable String field) {
            Throwable cause = context.getRootCause().orElse(null);
            if (cause instanceof AuthorizationException a) {
                if (!a.isForbidden()) {
                    return context.getRequest().getAttribute(BearerTokenAuthenticationFetcher.REFUSAL, String.class)
                            .orElse("this needs an API token: send the header \"Authorization: Bearer TOKEN\" (an admin "
                                    + "makes tokens with POST /api/v1/users/{name}/tokens)");
                }
                String who = a.getAuthentication() == null ? "" : "; you are " + a.getAuthentication().getName();
                return "only an admin may do this" + who;
            }
            if (status.getCode() >= 500) {
                String reference = UUID.randomUUID().toString().substring(0, 8);
                LOG.error("answered {} with reference {}: {}", status.getCode(), reference, cause == null
                        ? context.getErrors().stream().map(e -> e.getMessage()).toList() : cause.toString());
                return "the service failed to answer (" + status.getCode() + " " + status.getReason()
                        + "); its log has the details under reference " + reference;
            }
            return switch (cause) {
                case NotAllowedException n -> n.getRequestMethod() + " is not allowed here; this path answers "
                        + String.join(", ", new TreeSet<>(n.getAllowedMethods()));
                case UnsupportedMediaException u -> "a body of type " + u.getContentType() + " is not accepted here; "
                        + "send " + String.join(" or ", u.getAcceptableContentTypes());
                case NotAcceptableException n -> "this path answers " + String.join(" or ", n.getProduceableContentTypes())
                        + ", which the Accept header does not allow";
                case UnsatisfiedArgumentException u -> u.getArgument().getName() + ": is required";
                case ConversionErrorException c -> c.getArgument().getName() + ": cannot be read as "
                        + typeName(c.getArgument().getType());
                case null, default -> switch (status) {
                    case NOT_FOUND -> "nothing here: the API is under /api/v1 (described at /openapi/kiln-1.yml), "
                            + "the dashboard at /";
                    default -> context.getErrors().isEmpty() ? status.getReason()
                            : withField(field, context.getErrors().get(0).getMessage());
                };
            };
        }

        private static String withField(@Nullable String field, String message) {
            return field == null || message.startsWith(field) ? message : field + ": " + message;
        }

        private static String typeName(Class<?> type) {
            if (type == long.class || type == Long.class || type == int.class || type == Integer.class) {
                return "a whole number";
            }
            if (type == boolean.class || type == Boolean.class) {
                return "true or false";
            }
            return type.getSimpleName().toLowerCase(Locale.ROOT);
        }
    }
}
