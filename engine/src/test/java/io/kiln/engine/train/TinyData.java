package io.kiln.engine.train;

import io.kiln.engine.data.SyntheticData;
import java.io.IOException;
import java.nio.file.Path;

/** The engine tests' small learnable IDX datasets (see {@link SyntheticData}). */
public final class TinyData {
    private TinyData() {
    }

    public static Path write(Path dataRoot, String name, int train, int test, int classes, int side, long seed)
            throws IOException {
        return SyntheticData.writeIdx(dataRoot, name, train, test, classes, side, seed);
    }
}
