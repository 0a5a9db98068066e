package io.kiln.service.datasets;

import io.kiln.service.errors.BadInput;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarUtils;

/**
 * Commons Compress's tar reader, with every header looked at before the reader acts on it: an entry that carries
 * a name or extended header (GNU long name or long link, PAX) larger than {@code maxHeaderBytes} is refused
 * unread, since the reader would hold all of it in memory; sparse files, which no dataset needs, are refused too.
 */
final class BoundedTarInputStream extends TarArchiveInputStream {
    /** Header types whose data the reader keeps in memory: GNU long name and long link, PAX (local, global, old). */
    private static final String IN_MEMORY_TYPES = "LKxgX";
    private static final int TYPE_OFFSET = 156;
    private static final int SIZE_OFFSET = 124;
    private static final int SIZE_LENGTH = 12;

    private final int maxHeaderBytes;

    BoundedTarInputStream(InputStream in, int maxHeaderBytes) {
        super(in, StandardCharsets.UTF_8.name());
        this.maxHeaderBytes = maxHeaderBytes;
    }

    @Override
    protected byte[] readRecord() throws IOException {
        byte[] record = super.readRecord();
        if (record != null && !isEOFRecord(record)) {
            check(record);
        }
        return record;
    }

    private void check(byte[] header) {
        char type = (char) header[TYPE_OFFSET];
        if (type == 'S') {
            throw new BadInput("file", "the archive holds a sparse file; only regular files and folders are accepted");
        }
        if (IN_MEMORY_TYPES.indexOf(type) < 0) {
            return;
        }
        long size;
        try {
            size = TarUtils.parseOctalOrBinary(header, SIZE_OFFSET, SIZE_LENGTH);
        } catch (IllegalArgumentException e) {
            throw new BadInput("file", "not a readable tar archive: an entry's header is damaged (its size is not a number)");
        }
        if (size > maxHeaderBytes) {
            String what = type == 'L' ? "GNU long name" : type == 'K' ? "GNU long link name" : "PAX extended header";
            throw new BadInput("file", "the archive's " + what + " is " + size + " bytes long, more than "
                    + maxHeaderBytes + " (kiln.upload-max-name-bytes); refused without reading it");
        }
    }
}
