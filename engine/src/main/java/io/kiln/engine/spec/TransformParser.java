package io.kiln.engine.spec;

import com.fasterxml.jackson.databind.JsonNode;

/** Reads {@code data.transform}, naming the field of any broken rule. */
final class TransformParser {
    /** The largest side of a crop or resize; an ImageNet model takes 224. */
    static final int MAX_SIDE = 4096;

    private TransformParser() {
    }

    static JobSpec.Transform parse(SpecReader t) {
        int crop = 0;
        double[] scale = JobSpec.Transform.DEFAULT_SCALE;
        double[] ratio = JobSpec.Transform.DEFAULT_RATIO;
        JsonNode rrc = t.raw("randomResizedCrop");
        if (rrc != null && rrc.isObject()) {
            SpecReader o = SpecReader.of(rrc, t.field("randomResizedCrop"));
            crop = o.integer("size", null, 1, MAX_SIDE);
            scale = range(o, "scale", scale, 1.0);
            ratio = range(o, "ratio", ratio, 10.0);
            o.finish();
        } else if (rrc != null && !rrc.isNull()) {
            crop = SpecReader.checkInt(rrc, t.field("randomResizedCrop"), null, 1, MAX_SIDE);
        }
        boolean flip = t.bool("flip", false);
        if (!t.has("centerCrop")) {
            throw new SpecException(t.field("centerCrop"), "is required: it gives the size of the evaluation images "
                    + "(e.g. \"resize\": 256, \"centerCrop\": 224)");
        }
        int centerCrop = t.integer("centerCrop", null, 1, MAX_SIDE);
        int resize = t.integer("resize", centerCrop, 1, MAX_SIDE);
        if (resize < centerCrop) {
            throw new SpecException(t.field("resize"), "must be at least centerCrop (" + centerCrop + "), got " + resize
                    + ": the centre crop is cut from the resized image");
        }
        if (crop != 0 && crop != centerCrop) {
            throw new SpecException(t.field("randomResizedCrop"), "must equal centerCrop (" + centerCrop + "), got "
                    + crop + ": training and evaluation images go through the same model");
        }
        t.finish();
        return new JobSpec.Transform(crop, scale, ratio, flip, resize, centerCrop);
    }

    /** A [min, max] pair with 0 < min <= max <= limit. */
    private static double[] range(SpecReader o, String name, double[] defaults, double limit) {
        JsonNode v = o.raw(name);
        if (v == null || v.isNull()) {
            return defaults;
        }
        String f = o.field(name);
        if (!v.isArray() || v.size() != 2 || !v.get(0).isNumber() || !v.get(1).isNumber()) {
            throw new SpecException(f, "must be [min, max], two numbers, got " + SpecReader.describe(v));
        }
        double lo = v.get(0).asDouble();
        double hi = v.get(1).asDouble();
        if (!(lo > 0) || !(hi >= lo) || hi > limit) {
            throw new SpecException(f, "must have 0 < min <= max <= " + (limit == 1.0 ? "1" : "10") + ", got " + v);
        }
        return new double[] {lo, hi};
    }
}
