package io.kiln.service.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import org.h2.store.fs.FileBase;
import org.h2.store.fs.FilePath;
import org.h2.store.fs.FilePathWrapper;

/**
 * A file system for H2 ({@code jdbc:h2:faulty:file:...}) whose writes can be made to fail, as a disk that filled
 * up or was remounted read-only fails them: every write, truncate and sync of the database file then throws the
 * IOException the operating system would. H2 itself meets the fault (its commit fails, it closes the database,
 * and reopens it once the file can be written again), not a stand-in for it. Tests run as root here, where making
 * the file read-only with chmod changes nothing.
 */
public final class FaultyFiles extends FilePathWrapper {
    private static volatile boolean readOnly;

    static {
        FilePath.register(new FaultyFiles());
    }

    /** Registers the file system (once) and returns the H2 URL that uses it in place of {@code jdbc:h2:file:}. */
    public static String url(String h2FileUrl) {
        if (!h2FileUrl.startsWith("jdbc:h2:file:")) {
            throw new IllegalArgumentException(h2FileUrl);
        }
        return "jdbc:h2:faulty:file:" + h2FileUrl.substring("jdbc:h2:file:".length());
    }

    /** From now on writes fail (true) or succeed again (false). */
    public static void readOnly(boolean on) {
        readOnly = on;
    }

    @Override
    public String getScheme() {
        return "faulty";
    }

    @Override
    public FileChannel open(String mode) throws IOException {
        return new Channel(getBase().open(mode));
    }

    private static final class Channel extends FileBase {
        private final FileChannel base;

        Channel(FileChannel base) {
            this.base = base;
        }

        private static void writable() throws IOException {
            if (readOnly) {
                throw new IOException("Read-only file system");
            }
        }

        @Override
        public int read(ByteBuffer dst, long position) throws IOException {
            return base.read(dst, position);
        }

        @Override
        public int write(ByteBuffer src, long position) throws IOException {
            writable();
            return base.write(src, position);
        }

        @Override
        public int read(ByteBuffer dst) throws IOException {
            return base.read(dst);
        }

        @Override
        public int write(ByteBuffer src) throws IOException {
            writable();
            return base.write(src);
        }

        @Override
        public long position() throws IOException {
            return base.position();
        }

        @Override
        public FileChannel position(long p) throws IOException {
            base.position(p);
            return this;
        }

        @Override
        public long size() throws IOException {
            return base.size();
        }

        @Override
        public FileChannel truncate(long size) throws IOException {
            writable();
            base.truncate(size);
            return this;
        }

        @Override
        public void force(boolean metaData) throws IOException {
            writable();
            base.force(metaData);
        }

        @Override
        public FileLock tryLock(long position, long size, boolean shared) throws IOException {
            return base.tryLock(position, size, shared);
        }

        @Override
        protected void implCloseChannel() throws IOException {
            base.close();
        }
    }
}
