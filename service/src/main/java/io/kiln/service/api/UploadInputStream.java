package io.kiln.service.api;

import io.micronaut.http.HttpRequest;
import io.micronaut.http.multipart.PartData;
import io.micronaut.http.server.netty.NettyHttpRequest;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.util.ArrayDeque;
import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.reactivestreams.Publisher;
import org.reactivestreams.Subscriber;
import org.reactivestreams.Subscription;

/**
 * The bytes of a streamed multipart file ({@code StreamingFileUpload}) as a blocking stream, at most
 * {@link #IN_FLIGHT} chunks ahead of its reader, every chunk copied and released as it arrives.
 *
 * <p>Why not {@code StreamingFileUpload.asInputStream()}: with {@code micronaut.server.multipart.disk: true}
 * (Micronaut 4.10), a demand signalled from the reading thread makes Micronaut take the file's next chunk on that
 * thread, while the event loop appends the request's next bytes to the same file; the chunk can then point at the
 * wrong place of the spool file, and the upload arrives with a stretch repeated and as much lost, its length
 * unchanged. Every demand is therefore signalled on the request's event loop, where the bytes are appended, so
 * that chunks are taken in step with them; the subscription is made there too, since chunks that arrived before
 * it were otherwise handed over on the reading thread (about one upload in a hundred was still damaged so).
 */
final class UploadInputStream extends InputStream {
    /** Chunks asked for and not yet read: what one upload holds in memory beyond the reader's own buffer. */
    static final int IN_FLIGHT = 4;

    private final Executor signals;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition arrived = lock.newCondition();
    private final ArrayDeque<byte[]> chunks = new ArrayDeque<>();
    private Subscription subscription;
    private boolean complete;
    private Throwable failure;
    private boolean closed;
    private byte[] current;
    private int position;

    private UploadInputStream(Executor signals) {
        this.signals = signals;
    }

    /** Reads {@code file}, subscribing and signalling demand on {@code request}'s event loop. */
    static UploadInputStream of(Publisher<PartData> file, HttpRequest<?> request) {
        // Outside Netty (no event loop to follow) there is no spool file being appended to by another thread.
        Executor signals = request instanceof NettyHttpRequest<?> netty
                ? netty.getChannelHandlerContext().channel().eventLoop() : Runnable::run;
        return of(file, signals);
    }

    /** Reads {@code file}, subscribing and signalling demand on {@code signals}. */
    static UploadInputStream of(Publisher<PartData> file, Executor signals) {
        UploadInputStream in = new UploadInputStream(signals);
        Receiver receiver = in.new Receiver();
        signals.execute(() -> file.subscribe(receiver));
        return in;
    }

    private final class Receiver implements Subscriber<PartData> {
        @Override
        public void onSubscribe(Subscription s) {
            boolean cancel;
            lock.lock();
            try {
                subscription = s;
                cancel = closed;
            } finally {
                lock.unlock();
            }
            if (cancel) {
                signals.execute(s::cancel);
            } else {
                signals.execute(() -> s.request(IN_FLIGHT));
            }
        }

        @Override
        public void onNext(PartData part) {
            byte[] bytes;
            try {
                bytes = part.getBytes();
            } catch (IOException | RuntimeException e) {
                onError(e);
                return;
            }
            lock.lock();
            try {
                if (!closed) {
                    chunks.add(bytes);
                    arrived.signalAll();
                }
            } finally {
                lock.unlock();
            }
        }

        @Override
        public void onError(Throwable t) {
            lock.lock();
            try {
                if (failure == null) {
                    failure = t;
                }
                arrived.signalAll();
            } finally {
                lock.unlock();
            }
        }

        @Override
        public void onComplete() {
            lock.lock();
            try {
                complete = true;
                arrived.signalAll();
            } finally {
                lock.unlock();
            }
        }
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        Objects.checkFromIndexSize(off, len, b.length);
        if (len == 0) {
            return 0;
        }
        if (current == null || position == current.length) {
            current = next();
            position = 0;
            if (current == null) {
                return -1;
            }
        }
        int n = Math.min(len, current.length - position);
        System.arraycopy(current, position, b, off, n);
        position += n;
        return n;
    }

    /** The next non-empty chunk, asking for one more in its place; null at the end of the file. */
    private byte[] next() throws IOException {
        while (true) {
            byte[] chunk;
            Subscription s;
            lock.lock();
            try {
                while (chunks.isEmpty() && failure == null && !complete && !closed) {
                    arrived.await();
                }
                if (closed) {
                    throw new IOException("the upload stream is closed");
                }
                // Chunks that arrived before a failure are not read: the upload as a whole is broken.
                if (failure != null) {
                    throw new IOException("the upload was cut short: " + failure.getMessage(), failure);
                }
                chunk = chunks.poll();
                if (chunk == null) {
                    return null;
                }
                s = subscription;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while waiting for the upload");
            } finally {
                lock.unlock();
            }
            signals.execute(() -> s.request(1));
            if (chunk.length > 0) {
                return chunk;
            }
        }
    }

    /** Stops the upload where it is: the rest is not asked for, and what arrived unread is dropped. */
    @Override
    public void close() {
        Subscription s;
        lock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            chunks.clear();
            s = complete || failure != null ? null : subscription;
            arrived.signalAll();
        } finally {
            lock.unlock();
        }
        current = null;
        if (s != null) {
            signals.execute(s::cancel);
        }
    }
}
