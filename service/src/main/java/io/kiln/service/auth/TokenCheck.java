package io.kiln.service.auth;

/** What a bearer token turned out to be: a caller, or refused with the reason a 401 gives. */
public sealed interface TokenCheck {
    record Accepted(Caller caller) implements TokenCheck {
    }

    record Refused(String reason) implements TokenCheck {
    }
}
