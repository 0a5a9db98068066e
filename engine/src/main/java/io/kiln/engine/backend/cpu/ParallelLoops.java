package io.kiln.engine.backend.cpu;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.ForkJoinWorkerThread;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The CPU backend's threads: a private {@link ForkJoinPool} of daemon threads (none for one thread) and the
 * loops that split a range of items over them, the calling thread taking a share. After {@link #close}
 * every loop runs on the calling thread alone.
 */
final class ParallelLoops implements AutoCloseable {
    /**
     * Below this many elementary operations a call runs on the calling thread alone, and no chunk gets less
     * than half of it. Handing a chunk to a pool thread costs a wake-up and a join, plus the cache misses of
     * moving its data to another core: on the 2-core VM of docs/cpu-backend.md the handoff took about 6 us and
     * an add of 2^17 floats 26 us on one thread, so below this size a split saves less than it costs (and
     * a small MLP's bias, activation and optimizer calls, far below it, stay on one core).
     */
    static final long PARALLEL_MIN_WORK = 1L << 17;

    /** The body of a loop over items [from, to), the chunk'th of the split. */
    @FunctionalInterface
    interface RangeTask {
        void run(int chunk, int from, int to);
    }

    private final int threads;
    private final ForkJoinPool pool;
    private volatile boolean closed;

    ParallelLoops(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1, got " + threads);
        }
        this.threads = threads;
        if (threads == 1) {
            pool = null;
        } else {
            AtomicInteger counter = new AtomicInteger();
            pool = new ForkJoinPool(threads, p -> {
                ForkJoinWorkerThread t = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(p);
                t.setName("kiln-cpu-" + counter.incrementAndGet());
                t.setDaemon(true);
                return t;
            }, null, false);
        }
    }

    int threads() {
        return threads;
    }

    @Override
    public void close() {
        closed = true;
        if (pool != null) {
            pool.shutdown();
        }
    }

    /** How many chunks to split {@code count} items costing {@code work} operations in all into. */
    int chunks(int count, long work) {
        if (pool == null || closed || count < 2 || work < PARALLEL_MIN_WORK) {
            return 1;
        }
        Thread t = Thread.currentThread();
        if (t instanceof ForkJoinWorkerThread w && w.getPool() == pool) {
            return 1; // already inside one of our tasks
        }
        return (int) Math.min(Math.min(threads, count), Math.max(1, work / (PARALLEL_MIN_WORK / 2)));
    }

    /** Runs body over [0, count) split into as many chunks as {@code work} operations in all pay for. */
    void parallel(int count, long work, RangeTask body) {
        parallel(count, chunks(count, work), 1, body);
    }

    /** Runs body over [0, count) split evenly into chunks, chunk boundaries multiples of align. */
    void parallel(int count, int chunks, int align, RangeTask body) {
        if (chunks <= 1) {
            body.run(0, 0, count);
            return;
        }
        int[] bounds = new int[chunks + 1];
        for (int t = 1; t < chunks; t++) {
            int b = (int) ((long) count * t / chunks);
            b = Math.min(count, (b + align - 1) / align * align);
            bounds[t] = Math.max(bounds[t - 1], b);
        }
        bounds[chunks] = count;
        ForkJoinTask<?>[] tasks = new ForkJoinTask<?>[chunks - 1];
        for (int t = 1; t < chunks; t++) {
            int ci = t, from = bounds[t], to = bounds[t + 1];
            tasks[t - 1] = pool.submit(() -> body.run(ci, from, to));
        }
        Throwable error = null;
        try {
            body.run(0, bounds[0], bounds[1]);
        } catch (Throwable e) {
            error = e;
        }
        for (ForkJoinTask<?> task : tasks) {
            try {
                task.join();
            } catch (Throwable e) {
                if (error == null) {
                    error = e;
                } else {
                    error.addSuppressed(e);
                }
            }
        }
        if (error instanceof RuntimeException re) {
            throw re;
        }
        if (error instanceof Error er) {
            throw er;
        }
        if (error != null) {
            throw new IllegalStateException(error);
        }
    }

    /**
     * Runs body over [0, count) on {@code participants} threads that claim blocks of {@code grain} items
     * from a shared counter, so a thread that the OS delays (the cores may be shared) just takes fewer. A
     * participant's calls come one after another, in increasing order; one may get no items at all.
     */
    void parallelDynamic(int count, int participants, int grain, RangeTask body) {
        if (participants <= 1) {
            body.run(0, 0, count);
            return;
        }
        AtomicInteger next = new AtomicInteger();
        parallel(participants, participants, 1, (ci, from, to) -> {
            for (int p = from; p < to; p++) {
                int start;
                while ((start = next.getAndAdd(grain)) < count) {
                    body.run(p, start, Math.min(count, start + grain));
                }
            }
        });
    }
}
