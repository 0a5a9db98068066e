package io.kiln.service.executor.slurm;

/** SLURM's GRES text, such as {@code gpu:2}, {@code gpu:a100:4(S:0-1)} or {@code gpu:a100:2,gpu:v100:2(IDX:0-1)}. */
final class Gres {
    private Gres() {
    }

    /** How many GPUs the text names, all types together. */
    static int gpus(String gres) {
        if (gres == null) {
            return 0;
        }
        int total = 0;
        // A comma also separates indexes inside parentheses: drop those first.
        for (String part : gres.replaceAll("\\([^)]*\\)", "").split(",")) {
            String[] f = part.strip().split(":");
            if (f.length >= 2 && f[0].equals("gpu")) {
                try {
                    total += Integer.parseInt(f[f.length - 1].strip());
                } catch (NumberFormatException e) {
                    // "gpu:a100" without a count, or "(null)": none counted
                }
            }
        }
        return total;
    }
}
