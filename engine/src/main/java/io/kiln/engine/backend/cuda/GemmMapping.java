package io.kiln.engine.backend.cuda;

/**
 * Maps the backend's row-major GEMM (C[m, n] = op(A) op(B)) onto column-major cuBLAS: a row-major matrix
 * is its transpose in column-major, so C^T[n, m] = op(B)^T op(A)^T is computed with B first: the first
 * matrix cuBLAS gets is always B, the second A. cuBLAS gets (transB, transA, n, m, k, B, ldb, A, lda, C,
 * ldc = n).
 */
record GemmMapping(boolean firstTransposed, boolean secondTransposed, int m, int n, int k, int ldFirst,
                   int ldSecond, int ldc) {

    /** cublasSgemm's arguments for the row-major product; all of m, n, k must be positive. */
    static GemmMapping of(boolean transA, boolean transB, int m, int n, int k) {
        // B stored [k, n] (or [n, k] when transB): column-major that is [n, k] (or [k, n]).
        int ldb = transB ? k : n;
        // A stored [m, k] (or [k, m] when transA): column-major that is [k, m] (or [m, k]).
        int lda = transA ? m : k;
        return new GemmMapping(transB, transA, n, m, k, ldb, lda, n);
    }

    /**
     * A plain column-major SGEMM, as cuBLAS defines it, for tests: C = alpha op(X) op(Y) + beta C with
     * op(X) [m, k] and op(Y) [k, n], all column-major with the given leading dimensions.
     */
    static void referenceColumnMajor(boolean tx, boolean ty, int m, int n, int k, float alpha, float[] x, int ldx,
                                     float[] y, int ldy, float beta, float[] c, int ldc) {
        for (int j = 0; j < n; j++) {
            for (int i = 0; i < m; i++) {
                double s = 0;
                for (int p = 0; p < k; p++) {
                    float xv = tx ? x[p + i * ldx] : x[i + p * ldx];
                    float yv = ty ? y[j + p * ldy] : y[p + j * ldy];
                    s += (double) xv * yv;
                }
                float old = beta == 0f ? 0f : beta * c[i + j * ldc];
                c[i + j * ldc] = (float) (alpha * s) + old;
            }
        }
    }
}
