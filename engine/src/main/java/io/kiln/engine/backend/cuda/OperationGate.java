package io.kiln.engine.backend.cuda;

import io.kiln.engine.tensor.Tensor;
import java.util.Objects;
import jcuda.driver.JCudaDriver;

/**
 * What every operation of one {@link CudaBackend} passes through: its tensors must be the backend's own and
 * open; before its work is queued the backend must be open, not poisoned and bound to the calling thread (and
 * the operation is remembered for the message of an asynchronous error); after it, with {@code kiln.cuda.sync}
 * (or {@code KILN_CUDA_SYNC=1}), the stream is waited for so that the operation's own errors surface there.
 */
final class OperationGate {
    private final CudaBackend owner;
    private final CudaChecks checks;
    private final CudaContext context;
    private final boolean syncEachOp;
    private volatile boolean closed;

    OperationGate(CudaBackend owner, CudaChecks checks, CudaContext context) {
        this.owner = owner;
        this.checks = checks;
        this.context = context;
        this.syncEachOp = Boolean.parseBoolean(NativeLibraries.setting("kiln.cuda.sync", "KILN_CUDA_SYNC", "false")
                .replace("1", "true"));
    }

    /** {@code t} as the backend's own open tensor; {@code what} names the argument in the message. */
    CudaTensor dev(Tensor t, String what) {
        Objects.requireNonNull(t, what);
        if (!(t instanceof CudaTensor c) || c.storage.owner != owner) {
            throw new IllegalArgumentException(what + " " + t + " belongs to another backend; " + owner.name()
                    + " takes only its own CudaTensors");
        }
        if (c.isClosed()) {
            throw new IllegalStateException(what + " " + t + " is closed");
        }
        return c;
    }

    /** Before an operation's work is queued: usable, bound to this thread, remembered for error messages. */
    void begin(String op) {
        if (closed) {
            throw new IllegalStateException(owner.name() + " is closed (" + op + ")");
        }
        checks.notPoisoned(op);
        context.bind(owner.name());
        checks.started(op);
    }

    /** Queues one operation's work between {@link #begin} and {@link #end}. */
    void queue(String op, Object detail, Runnable work) {
        begin(op);
        work.run();
        end(op, detail);
    }

    /** As {@link #queue}, but an operation on no elements queues nothing and is not waited for. */
    void queueUnlessEmpty(String op, Object detail, int size, Runnable work) {
        begin(op);
        if (size == 0) {
            return;
        }
        work.run();
        end(op, detail);
    }

    /** After an operation is queued: with kiln.cuda.sync, waits so that its own errors surface here. */
    void end(String op, Object detail) {
        if (syncEachOp) {
            checks.cu(JCudaDriver.cuStreamSynchronize(context.stream()), "cuStreamSynchronize after " + op, detail);
        }
    }

    boolean closed() {
        return closed;
    }

    /** From now on every operation fails saying the backend is closed. */
    void close() {
        closed = true;
    }
}
