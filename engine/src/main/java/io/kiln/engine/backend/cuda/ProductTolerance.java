package io.kiln.engine.backend.cuda;

import io.kiln.engine.backend.Precision;

/**
 * How far a GPU's sum of products (a matrix product, a convolution) may be from the CPU's: |device - cpu| &lt;=
 * atol + rtol * |cpu|, where atol grows with the square root of the number of terms and with the operands'
 * magnitudes.
 *
 * <p>Why: with TF32 each operand keeps 10 of fp32's 23 mantissa bits (rounded or, on some hardware, truncated:
 * a relative error up to u = 2^-10 per operand), so each of the k products is off by up to 2u times its size.
 * Those errors add like a random walk, about u * sqrt(k) * |a| * |b|, with a bias along the result itself
 * (truncation always shrinks), which rtol covers. A fixed 1e-2 fails a correct 100x10x784 product (errors
 * around 6e-3 to 3e-2, several percent of the elements), while a real fault (a wrong index, a missing
 * term, a transposed operand) is off by about |a| * |b| or more, far above {@value #SIGMAS} u sqrt(k) |a||b|
 * for any k Kiln checks.
 *
 * @param atol the absolute part
 * @param rtol the part relative to the CPU's value
 */
public record ProductTolerance(double atol, double rtol) {
    /** Standard deviations of the random-walk error (with |a||b| at its largest) that are still accepted. */
    static final double SIGMAS = 6;
    /** The least tolerance, of fp32 reductions in a different order (cuBLAS/cuDNN versus the CPU's). */
    static final double FLOOR = 1e-4;

    /** The unit roundoff of an operand: fp32 keeps 23 mantissa bits, TF32 10 (taking truncation as the worst). */
    static double unit(Precision precision) {
        return precision == Precision.TF32 ? Math.scalb(1.0, -10) : Math.scalb(1.0, -23);
    }

    /**
     * The tolerance of sums of {@code terms} products whose factors are at most {@code scale} in size together
     * (max |a| * max |b| * |alpha|).
     */
    public static ProductTolerance of(Precision precision, long terms, double scale) {
        double u = unit(precision);
        double atol = Math.max(FLOOR, SIGMAS * u * Math.sqrt(Math.max(1, terms)) * scale);
        double rtol = Math.max(FLOOR, 4 * u);
        return new ProductTolerance(atol, rtol);
    }

    /** Whether {@code got} is within this tolerance of {@code want}. */
    public boolean accepts(double want, double got) {
        return Math.abs(got - want) <= atol + rtol * Math.abs(want);
    }
}
