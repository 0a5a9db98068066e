package io.kiln.service.store;

import com.zaxxer.hikari.SQLExceptionOverride;
import java.sql.SQLException;

/**
 * Tells the connection pool to drop a connection whose database closed under it. An embedded H2 database closes
 * itself after a failed file write; its sessions then fail every call ("The database has been closed") while still
 * answering isValid(), so the pool would hand them out forever. Dropped, they are replaced by fresh connections,
 * which reopen the database once its file can be written again.
 */
public final class DeadConnections implements SQLExceptionOverride {
    /** H2's DATABASE_IS_CLOSED, and GENERAL_ERROR, which wraps the file store's own failures. */
    private static final int H2_DATABASE_CLOSED = 90098;
    private static final int H2_GENERAL_ERROR = 50000;

    @java.lang.Override
    public Override adjudicate(SQLException e) {
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c instanceof SQLException sql && (sql.getErrorCode() == H2_DATABASE_CLOSED
                    || sql.getErrorCode() == H2_GENERAL_ERROR && String.valueOf(sql.getMessage()).contains("MVStoreException"))) {
                return Override.MUST_EVICT;
            }
        }
        return Override.CONTINUE_EVICT;
    }
}
