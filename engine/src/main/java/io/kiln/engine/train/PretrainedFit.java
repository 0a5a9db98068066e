package io.kiln.engine.train;

import io.kiln.engine.backend.cpu.CpuBackend;
import io.kiln.engine.nn.Model;
import io.kiln.engine.spec.JobSpec;
import io.kiln.engine.spec.SpecException;
import io.kiln.engine.weights.WeightImport;
import io.kiln.engine.weights.WeightTensor;
import io.kiln.engine.weights.WeightsException;
import java.util.Map;

/**
 * Whether pretrained weights fit a spec's model before any training starts, so that the service can refuse a
 * job at submission instead of failing it in its worker: the model is built on the CPU for the data's sample
 * shape and class count, the weights are loaded as {@link Trainer#startFrom(Map, String)} loads them (a new last
 * layer for another class count), and the spec's {@code init.freeze} is applied.
 */
public final class PretrainedFit {
    private PretrainedFit() {
    }

    /**
     * @throws SpecException naming {@code init.model} and listing every missing, unexpected and mis-shaped tensor,
     *     or naming the spec field that does not fit (a freeze entry, the model)
     */
    public static WeightImport.Result check(JobSpec spec, int[] sampleShape, int classes,
                                            Map<String, WeightTensor> weights, String source) {
        try (CpuBackend cpu = new CpuBackend(1); Model model = Model.build(cpu, spec, sampleShape, classes)) {
            Freezing.apply(model, spec.init() == null ? JobSpec.Freeze.NONE : spec.init().freeze());
            return WeightImport.load(cpu, model, weights, source, true);
        } catch (WeightsException e) {
            throw new SpecException("init.model", e.getMessage());
        }
    }
}
