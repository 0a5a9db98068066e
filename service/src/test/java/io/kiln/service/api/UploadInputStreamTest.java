package io.kiln.service.api;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micronaut.http.MediaType;
import io.micronaut.http.multipart.PartData;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.reactivestreams.Publisher;
import org.reactivestreams.Subscriber;
import org.reactivestreams.Subscription;

/**
 * The upload bridge on its own: every chunk in order, at most {@link UploadInputStream#IN_FLIGHT} asked for ahead of
 * the reader, subscription and every demand on the given executor (the event loop in the service), a failure
 * surfacing as an IOException, and close() cancelling the rest.
 */
@Timeout(30)
class UploadInputStreamTest {
    private final ExecutorService loop = Executors.newSingleThreadExecutor(r -> new Thread(r, "test-loop"));

    @AfterEach
    void stop() throws InterruptedException {
        loop.shutdownNow();
        loop.awaitTermination(5, TimeUnit.SECONDS);
    }

    /** Emits {@code chunks} on the loop as they are asked for, checking where and how much is asked. */
    final class Source implements Publisher<PartData> {
        final List<byte[]> chunks;
        final AtomicLong outstanding = new AtomicLong();
        final AtomicLong mostOutstanding = new AtomicLong();
        final AtomicBoolean offLoop = new AtomicBoolean();
        final AtomicBoolean cancelled = new AtomicBoolean();
        final IOException failAfterAll;
        int next;

        Source(List<byte[]> chunks, IOException failAfterAll) {
            this.chunks = chunks;
            this.failAfterAll = failAfterAll;
        }

        @Override
        public void subscribe(Subscriber<? super PartData> s) {
            checkThread();
            s.onSubscribe(new Subscription() {
                @Override
                public void request(long n) {
                    checkThread();
                    mostOutstanding.accumulateAndGet(outstanding.addAndGet(n), Math::max);
                    // Later, as data arriving from the network would be.
                    loop.execute(() -> emit(s));
                }

                @Override
                public void cancel() {
                    checkThread();
                    cancelled.set(true);
                }
            });
        }

        private void emit(Subscriber<? super PartData> s) {
            while (outstanding.get() > 0 && next < chunks.size() && !cancelled.get()) {
                outstanding.decrementAndGet();
                s.onNext(part(chunks.get(next++)));
            }
            if (next == chunks.size() && !cancelled.get()) {
                next++;
                if (failAfterAll == null) {
                    s.onComplete();
                } else {
                    s.onError(failAfterAll);
                }
            }
        }

        private void checkThread() {
            if (!Thread.currentThread().getName().equals("test-loop")) {
                offLoop.set(true);
            }
        }
    }

    static PartData part(byte[] bytes) {
        return new PartData() {
            @Override
            public InputStream getInputStream() {
                throw new UnsupportedOperationException();
            }

            @Override
            public byte[] getBytes() {
                return bytes.clone();
            }

            @Override
            public ByteBuffer getByteBuffer() {
                return ByteBuffer.wrap(getBytes());
            }

            @Override
            public Optional<MediaType> getContentType() {
                return Optional.empty();
            }
        };
    }

    static List<byte[]> chunks(int count) {
        List<byte[]> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            byte[] c = new byte[i % 7 == 3 ? 0 : 1 + (i * 37) % 5000];
            for (int j = 0; j < c.length; j++) {
                c[j] = (byte) (i * 31 + j);
            }
            out.add(c);
        }
        return out;
    }

    @Test
    void everyChunkArrivesInOrderAtMostInFlightAhead() throws IOException {
        List<byte[]> chunks = chunks(500);
        ByteArrayOutputStream expected = new ByteArrayOutputStream();
        chunks.forEach(expected::writeBytes);
        Source source = new Source(chunks, null);
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        try (InputStream in = UploadInputStream.of(source, loop)) {
            byte[] buf = new byte[1 + 777];
            for (int n = in.read(buf, 0, 1); n >= 0; n = in.read(buf)) {
                got.write(buf, 0, n);
            }
        }
        assertArrayEquals(expected.toByteArray(), got.toByteArray());
        assertTrue(source.mostOutstanding.get() <= UploadInputStream.IN_FLIGHT, "asked ahead: " + source.mostOutstanding);
        assertEquals(false, source.offLoop.get(), "subscribed and asked on the loop only");
    }

    @Test
    void aFailedUploadIsAnIOExceptionNotAnEnd() {
        Source source = new Source(chunks(20), new IOException("connection reset"));
        IOException e = assertThrows(IOException.class, () -> {
            try (InputStream in = UploadInputStream.of(source, loop)) {
                in.transferTo(java.io.OutputStream.nullOutputStream());
            }
        });
        assertTrue(e.getMessage().contains("connection reset"), e.getMessage());
    }

    @Test
    void closingStopsTheUpload() throws Exception {
        Source source = new Source(chunks(500), null);
        InputStream in = UploadInputStream.of(source, loop);
        assertTrue(in.read(new byte[10]) > 0);
        in.close();
        loop.submit(() -> { }).get();
        assertTrue(source.cancelled.get(), "the rest is not asked for");
        assertTrue(source.next < 500, "stopped early at " + source.next);
        assertThrows(IOException.class, () -> in.read(new byte[10]));
        assertEquals(false, source.offLoop.get());
    }
}
