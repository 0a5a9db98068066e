package io.kiln.engine.backend.cuda;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * A caching allocator over a raw device allocator: freed blocks are kept by rounded size and handed out
 * again, so a training loop that allocates the same shapes every step stops calling cuMemAlloc after its
 * first step. When the raw allocator fails, the cache is emptied and the request retried once before an
 * out-of-memory error that says how much was asked and how much is free.
 *
 * <p>All work on the device goes through one stream, so a block released here can be handed out again at
 * once: the work queued with it runs before whatever the new owner queues.
 *
 * @param <P> the raw pointer type (CUdeviceptr on the GPU, anything in tests)
 */
final class DeviceAllocator<P> {
    /** The underlying device memory. */
    interface Raw<P> {
        /** A new block of exactly {@code bytes}, or null when the device is out of memory. */
        P malloc(long bytes);

        void free(P pointer);

        /** Free device memory now (-1 when unknown). */
        long freeBytes();

        /** Called before cached blocks are freed: queued work that used them must have finished. */
        default void beforeFree() {
        }
    }

    /** A block handed out: its pointer and rounded size. */
    static final class Block<P> {
        final P pointer;
        final long bytes;

        Block(P pointer, long bytes) {
            this.pointer = pointer;
            this.bytes = bytes;
        }
    }

    /** Bytes in use by live blocks, bytes held in the cache, the peak of in-use, and call counts. */
    record Stats(long inUse, long cached, long peakInUse, long deviceAllocations, long cacheHits, long liveBlocks) {
        @Override
        public String toString() {
            return "in use " + CudaStatus.bytes(inUse) + ", cached " + CudaStatus.bytes(cached) + ", peak "
                    + CudaStatus.bytes(peakInUse) + " (" + deviceAllocations + " device allocations, " + cacheHits
                    + " cache hits, " + liveBlocks + " live blocks)";
        }
    }

    static final long SMALL = 1L << 20;
    static final long SMALL_ROUND = 512;
    static final long LARGE_ROUND = 2L << 20;

    private final Raw<P> raw;
    private final Map<Long, ArrayDeque<Block<P>>> cache = new HashMap<>();
    private final Map<Block<P>, Boolean> live = new IdentityHashMap<>();
    private long inUse;
    private long cached;
    private long peak;
    private long deviceAllocations;
    private long cacheHits;

    DeviceAllocator(Raw<P> raw) {
        this.raw = raw;
    }

    /** Sizes are rounded up: to 512 bytes below 1 MiB, to 2 MiB above. */
    static long round(long bytes) {
        long b = Math.max(bytes, 1);
        long unit = b < SMALL ? SMALL_ROUND : LARGE_ROUND;
        return (b + unit - 1) / unit * unit;
    }

    synchronized Block<P> allocate(long bytes, String what) {
        if (bytes < 0) {
            throw new IllegalArgumentException("negative allocation of " + bytes + " bytes for " + what);
        }
        long size = round(bytes);
        ArrayDeque<Block<P>> q = cache.get(size);
        Block<P> b = q == null ? null : q.pollFirst();
        if (b != null) {
            cached -= size;
            cacheHits++;
        } else {
            P p = raw.malloc(size);
            if (p == null) {
                emptyCache();
                p = raw.malloc(size);
            }
            if (p == null) {
                long free = raw.freeBytes();
                throw new CudaOutOfMemoryException("CUDA out of memory allocating " + CudaStatus.bytes(bytes) + " for "
                        + what + ": " + CudaStatus.bytes(free) + " free on the device; Kiln's allocator: " + stats()
                        + ". Use a smaller batch size or model, or a GPU with more free memory.", bytes, free);
            }
            deviceAllocations++;
            b = new Block<>(p, size);
        }
        live.put(b, Boolean.TRUE);
        inUse += size;
        peak = Math.max(peak, inUse);
        return b;
    }

    /** Returns a block to the cache; releasing a block twice is a no-op. */
    synchronized void release(Block<P> b) {
        if (live.remove(b) == null) {
            return;
        }
        inUse -= b.bytes;
        cache.computeIfAbsent(b.bytes, k -> new ArrayDeque<>()).addFirst(b);
        cached += b.bytes;
    }

    /** Frees every cached block on the device. */
    synchronized void emptyCache() {
        if (!cache.isEmpty()) {
            raw.beforeFree();
        }
        for (ArrayDeque<Block<P>> q : cache.values()) {
            for (Block<P> b : q) {
                raw.free(b.pointer);
            }
        }
        cache.clear();
        cached = 0;
    }

    /** Frees everything, live blocks included (the backend is closing). */
    synchronized void freeAll() {
        emptyCache();
        if (!live.isEmpty()) {
            raw.beforeFree();
        }
        for (Block<P> b : live.keySet()) {
            raw.free(b.pointer);
        }
        live.clear();
        inUse = 0;
    }

    synchronized Stats stats() {
        return new Stats(inUse, cached, peak, deviceAllocations, cacheHits, live.size());
    }
}
