package io.kiln.engine.data;

/** A decoded image of its own size: {@code channels} planes of {@code width * height} bytes, row-major. */
record SourceImage(byte[] pixels, int channels, int width, int height) {
}
