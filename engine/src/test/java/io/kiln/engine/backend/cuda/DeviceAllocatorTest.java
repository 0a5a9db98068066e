package io.kiln.engine.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The caching allocator over a fake device with a fixed capacity. */
class DeviceAllocatorTest {
    static final class FakeDevice implements DeviceAllocator.Raw<Long> {
        final long capacity;
        long used;
        long next = 1;
        final Set<Long> live = new HashSet<>();
        final java.util.Map<Long, Long> sizes = new java.util.HashMap<>();
        int mallocs;

        FakeDevice(long capacity) {
            this.capacity = capacity;
        }

        @Override
        public Long malloc(long bytes) {
            if (used + bytes > capacity) {
                return null;
            }
            used += bytes;
            mallocs++;
            long p = next++;
            live.add(p);
            sizes.put(p, bytes);
            return p;
        }

        @Override
        public void free(Long p) {
            assertTrue(live.remove(p), "double free of " + p);
            used -= sizes.remove(p);
        }

        @Override
        public long freeBytes() {
            return capacity - used;
        }
    }

    @Test
    void roundsSmallAndLargeSizes() {
        assertEquals(512, DeviceAllocator.round(1));
        assertEquals(512, DeviceAllocator.round(512));
        assertEquals(1024, DeviceAllocator.round(513));
        assertEquals(2L << 20, DeviceAllocator.round((1L << 20) + 1));
        assertEquals(4L << 20, DeviceAllocator.round((2L << 20) + 1));
    }

    @Test
    void reusesReleasedBlocksAndKeepsStatistics() {
        FakeDevice dev = new FakeDevice(1L << 30);
        DeviceAllocator<Long> a = new DeviceAllocator<>(dev);
        DeviceAllocator.Block<Long> b1 = a.allocate(1000, "t1");
        DeviceAllocator.Block<Long> b2 = a.allocate(3L << 20, "t2");
        assertEquals(1024 + (4L << 20), a.stats().inUse());
        a.release(b1);
        a.release(b1); // idempotent
        assertEquals(1024, a.stats().cached());
        DeviceAllocator.Block<Long> b3 = a.allocate(900, "t3");
        assertSame(b1, b3);
        assertEquals(2, dev.mallocs);
        assertEquals(1, a.stats().cacheHits());
        assertEquals(1024 + (4L << 20), a.stats().peakInUse());
        a.release(b2);
        a.release(b3);
        assertEquals(0, a.stats().inUse());
        a.emptyCache();
        assertEquals(0, a.stats().cached());
        assertEquals(0, dev.used);
    }

    @Test
    void emptiesTheCacheBeforeGivingUpAndThenSaysWhatWasAskedAndWhatIsFree() {
        FakeDevice dev = new FakeDevice(8L << 20);
        DeviceAllocator<Long> a = new DeviceAllocator<>(dev);
        DeviceAllocator.Block<Long> big = a.allocate(6L << 20, "big");
        a.release(big); // cached, still held on the device
        DeviceAllocator.Block<Long> other = a.allocate(4L << 20, "other"); // needs the cache emptied
        assertEquals(4L << 20, dev.used);
        CudaOutOfMemoryException e = assertThrows(CudaOutOfMemoryException.class, () -> a.allocate(6L << 20, "huge"));
        assertEquals(6L << 20, e.requested());
        assertEquals(4L << 20, e.free());
        assertTrue(e.getMessage().contains("6.0 MiB") && e.getMessage().contains("4.0 MiB free"), e.getMessage());
        a.release(other);
        a.freeAll();
        assertEquals(0, dev.used);
    }
}
