package io.kiln.engine.backend.cuda;

import jcuda.Pointer;
import jcuda.driver.JCudaDriver;
import jcuda.jcublas.JCublas2;
import jcuda.jcublas.cublasOperation;

/**
 * The backend's row-major GEMM on cuBLAS's column-major SGEMM ({@link GemmMapping}). An empty product (k or
 * alpha zero) never reaches cuBLAS: C is zeroed or scaled, so that beta == 0 does not read C even then.
 * Arguments are checked by the backend.
 */
record CublasGemm(CudaContext context, CudaChecks checks, KernelLauncher kernels) {
    /** Whether anything was queued (nothing when C is empty). */
    boolean gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, CudaTensor a, CudaTensor b,
                 float beta, CudaTensor c) {
        if (m == 0 || n == 0) {
            return false;
        }
        if (k == 0 || alpha == 0f) {
            if (beta == 0f) {
                checks.cu(JCudaDriver.cuMemsetD32Async(c.pointer(), 0, (long) m * n, context.stream()), "cuMemsetD32Async",
                        "gemm C");
            } else if (beta != 1f) {
                kernels.launch("kiln_scale", (long) m * n, c, beta, m * n);
            }
            return true;
        }
        GemmMapping g = GemmMapping.of(transA, transB, m, n, k);
        checks.blas(() -> JCublas2.cublasSgemm(context.cublas(),
                        g.firstTransposed() ? cublasOperation.CUBLAS_OP_T : cublasOperation.CUBLAS_OP_N,
                        g.secondTransposed() ? cublasOperation.CUBLAS_OP_T : cublasOperation.CUBLAS_OP_N,
                        g.m(), g.n(), g.k(), Pointer.to(new float[] {alpha}), b.pointer(), g.ldFirst(),
                        a.pointer(), g.ldSecond(), Pointer.to(new float[] {beta}), c.pointer(), g.ldc()),
                "cublasSgemm", new Object[] {"transA=" + transA, "transB=" + transB, "m=" + m, "n=" + n, "k=" + k});
        return true;
    }
}
