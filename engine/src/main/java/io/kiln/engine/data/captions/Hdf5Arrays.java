package io.kiln.engine.data.captions;

import io.jhdf.HdfFile;
import io.jhdf.api.Dataset;
import io.jhdf.api.Node;
import io.jhdf.exceptions.HdfException;
import io.kiln.engine.data.DataException;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Reads the numeric datasets of an HDF5 file with jHDF (pure Java): integer arrays as int, floating-point arrays
 * as float, whatever their width on disk (h5py writes numpy's int64 and float64 as they are). Every failure is a
 * {@link DataException} naming the file and the dataset.
 */
final class Hdf5Arrays implements AutoCloseable {
    /** A dataset's values, row-major, with its shape. */
    record IntArray(int[] shape, int[] data) {
    }

    record FloatArray(int[] shape, float[] data) {
    }

    private final Path file;
    private final HdfFile hdf;

    Hdf5Arrays(Path file) {
        this.file = file;
        try {
            this.hdf = new HdfFile(file);
        } catch (HdfException | IllegalArgumentException e) {
            throw new DataException("cannot read " + file + " as HDF5: " + e.getMessage(), e);
        }
    }

    boolean has(String name) {
        try {
            Node n = hdf.getChild(name);
            return n instanceof Dataset;
        } catch (HdfException e) {
            return false;
        }
    }

    private Dataset dataset(String name, int rank) {
        Node n;
        try {
            n = hdf.getChild(name);
        } catch (HdfException e) {
            n = null;
        }
        if (!(n instanceof Dataset d)) {
            throw new DataException("file " + file + " has no dataset \"" + name + "\"; it holds "
                    + hdf.getChildren().keySet());
        }
        if (d.getDimensions().length != rank) {
            throw new DataException("dataset \"" + name + "\" of " + file + " is " + Arrays.toString(d.getDimensions())
                    + ", expected " + rank + " dimension" + (rank == 1 ? "" : "s"));
        }
        return d;
    }

    IntArray ints(String name, int rank) {
        Dataset d = dataset(name, rank);
        Object flat = read(d, name, null, null);
        int[] out;
        switch (flat) {
            case int[] a -> out = a;
            case long[] a -> {
                out = new int[a.length];
                for (int i = 0; i < a.length; i++) {
                    if (a[i] < Integer.MIN_VALUE || a[i] > Integer.MAX_VALUE) {
                        throw new DataException("dataset \"" + name + "\" of " + file + " holds " + a[i] + " at " + i
                                + ", outside the int range");
                    }
                    out[i] = (int) a[i];
                }
            }
            case short[] a -> {
                out = new int[a.length];
                for (int i = 0; i < a.length; i++) {
                    out[i] = a[i];
                }
            }
            case byte[] a -> {
                out = new int[a.length];
                for (int i = 0; i < a.length; i++) {
                    out[i] = a[i];
                }
            }
            default -> throw new DataException("dataset \"" + name + "\" of " + file + " holds " + d.getJavaType()
                    + " values, expected integers");
        }
        return new IntArray(d.getDimensions(), out);
    }

    int[] shape(String name, int rank) {
        return dataset(name, rank).getDimensions();
    }

    /** The rows {@code [from, from + count)} of a 2-D floating-point dataset (all of them for count -1). */
    FloatArray floatRows(String name, int from, int count) {
        Dataset d = dataset(name, 2);
        int[] dims = d.getDimensions();
        int rows = count < 0 ? dims[0] : count;
        Object flat = count < 0 ? read(d, name, null, null)
                : read(d, name, new long[] {from, 0}, new int[] {rows, dims[1]});
        float[] out;
        if (flat instanceof float[] a) {
            out = a;
        } else if (flat instanceof double[] a) {
            out = new float[a.length];
            for (int i = 0; i < a.length; i++) {
                out[i] = (float) a[i];
            }
        } else if (flat instanceof float[][] || flat instanceof double[][]) {
            out = flatten(flat);
        } else {
            throw new DataException("dataset \"" + name + "\" of " + file + " holds " + d.getJavaType()
                    + " values, expected floating-point numbers");
        }
        return new FloatArray(new int[] {rows, dims[1]}, out);
    }

    private static float[] flatten(Object rows) {
        if (rows instanceof float[][] f) {
            int w = f.length == 0 ? 0 : f[0].length;
            float[] out = new float[f.length * w];
            for (int i = 0; i < f.length; i++) {
                System.arraycopy(f[i], 0, out, i * w, w);
            }
            return out;
        }
        double[][] dd = (double[][]) rows;
        int w = dd.length == 0 ? 0 : dd[0].length;
        float[] out = new float[dd.length * w];
        for (int i = 0; i < dd.length; i++) {
            for (int j = 0; j < w; j++) {
                out[i * w + j] = (float) dd[i][j];
            }
        }
        return out;
    }

    private Object read(Dataset d, String name, long[] offset, int[] shape) {
        try {
            return offset == null ? d.getDataFlat() : d.getData(offset, shape);
        } catch (HdfException | IllegalArgumentException | UnsupportedOperationException | IllegalStateException e) {
            throw new DataException("cannot read dataset \"" + name + "\" of " + file + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        hdf.close();
    }
}
