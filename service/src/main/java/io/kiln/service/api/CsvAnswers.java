package io.kiln.service.api;

import io.kiln.service.errors.BadInput;
import io.kiln.service.jobs.Csv;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpHeaders;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.MediaType;
import java.util.Locale;

/**
 * Answers that come as JSON or, for a spreadsheet, as CSV: {@code ?format=csv} (or {@code json}) decides, else an
 * {@code Accept} header that names {@code text/csv} and not JSON.
 */
final class CsvAnswers {
    /** The media type of the CSV answers, with their character set. */
    static final String MEDIA_TYPE = Csv.MEDIA_TYPE + ";charset=utf-8";

    private CsvAnswers() {
    }

    /**
     * Whether the request asks for CSV.
     *
     * @throws BadInput naming {@code format} for anything but json or csv
     */
    static boolean wanted(@Nullable String format, HttpRequest<?> request) {
        if (format != null) {
            return switch (format.toLowerCase(Locale.ROOT)) {
                case "csv" -> true;
                case "json" -> false;
                default -> throw new BadInput("format", "must be json or csv, got \"" + abbreviate(format) + "\"");
            };
        }
        java.util.Collection<MediaType> accept = request.accept();
        return accept.stream().anyMatch(m -> m.getName().equals(Csv.MEDIA_TYPE))
                && accept.stream().noneMatch(m -> m.getName().equals(MediaType.APPLICATION_JSON));
    }

    /** A CSV answer, offered as a file of that name when saved from a browser. */
    static HttpResponse<String> of(String csv, String filename) {
        return HttpResponse.ok(csv).contentType(MEDIA_TYPE)
                .header(HttpHeaders.CONTENT_DISPOSITION, "attachment; filename=\"" + filename + "\"");
    }

    private static String abbreviate(String s) {
        return s.length() > 20 ? s.substring(0, 17) + "..." : s;
    }
}
