package io.kiln.engine.optim;

import io.kiln.engine.spec.JobSpec;

/** The learning rate at a point of training, from the spec's base rate and optional schedule. */
public final class LearningRate {
    private final JobSpec.Optimizer spec;
    private final long totalSteps;

    public LearningRate(JobSpec.Optimizer spec, long totalSteps) {
        this.spec = spec;
        this.totalSteps = Math.max(1, totalSteps);
    }

    /**
     * @param epoch      0-based epoch
     * @param globalStep 0-based step counted from the start of training
     */
    public double at(int epoch, long globalStep) {
        JobSpec.Schedule s = spec.schedule();
        if (s == null) {
            return spec.lr();
        }
        if (s.type().equals("step")) {
            return spec.lr() * Math.pow(s.gamma(), epoch / s.every());
        }
        // Cosine annealing per step from lr down to minLr at the last step.
        double t = Math.min(1.0, (double) globalStep / totalSteps);
        return s.minLr() + (spec.lr() - s.minLr()) * 0.5 * (1 + Math.cos(Math.PI * t));
    }
}
