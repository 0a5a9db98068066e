package io.kiln.engine.backend.cuda;

import io.kiln.engine.backend.ArgumentChecks.Channels;

/**
 * The sequence models' operations, each one of Kiln's kernels ({@code cuda-kernels/src/main/cuda/sequences.cuh}):
 * word-embedding lookup and its scatter-add gradient (one thread per column adding the rows in order, so the sums
 * equal the CPU's bit for bit), the LSTM cell's gate arithmetic and its gradient, and the row argmax of greedy
 * decoding. The recurrent layers' matrix products are cuBLAS GEMMs per time step ({@link CublasGemm}); cuDNN's RNN
 * API is not used. Arguments are checked by the backend.
 */
record CudaSequences(KernelLauncher kernels) {
    void embeddingForward(CudaTensor table, int d, CudaTensor indices, CudaTensor out) {
        int n = indices.size();
        kernels.launch("kiln_embedding_forward", (long) n * d, table, indices, out, n, d, d == 0 ? 0 : table.size() / d);
    }

    void embeddingBackward(CudaTensor dOut, int d, CudaTensor indices, CudaTensor dTable) {
        int n = indices.size();
        if (n > 0) {
            kernels.launch("kiln_embedding_backward", d, dOut, indices, dTable, n, d, d == 0 ? 0 : dTable.size() / d);
        }
    }

    void lstmCellForward(Channels s, CudaTensor a, CudaTensor cPrev, CudaTensor gates, CudaTensor c, CudaTensor h) {
        kernels.launch("kiln_lstm_forward", (long) s.n() * s.c(), a, cPrev, gates, c, h, s.n(), s.c());
    }

    /** dc is null when no gradient comes from the next step (a null pointer to the kernel). */
    void lstmCellBackward(Channels s, CudaTensor gates, CudaTensor cPrev, CudaTensor c, CudaTensor dh, CudaTensor dc,
                          CudaTensor da, CudaTensor dcPrev) {
        kernels.launch("kiln_lstm_backward", (long) s.n() * s.c(), gates, cPrev, c, dh, dc, da, dcPrev, s.n(), s.c());
    }

    void argmax(int n, int k, CudaTensor scores, CudaTensor indices) {
        kernels.launch("kiln_argmax", n, scores, indices, n, k);
    }
}
