package io.kiln.engine.nn;

import io.kiln.engine.spec.Presets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The names PyTorch gives the layers of a Kiln model, so that weights saved by PyTorch can be matched to Kiln's
 * layers, and layers frozen by the names a PyTorch user knows. For the ResNet presets these are torchvision's
 * ({@code conv1}, {@code bn1}, {@code layer2.0.conv1}, {@code layer2.0.downsample.0}, {@code fc}); for every other
 * model those of an {@code nn.Sequential} holding the same layers in the same order ({@code 1}, {@code 4},
 * {@code 5.body.0}).
 *
 * <p>Only layers with parameters or buffers get a name: they are the ones a state dict holds.
 */
public final class ModuleNames {
    /** Kiln layer name to PyTorch module name, in model order. */
    private final Map<String, String> torchByKiln = new LinkedHashMap<>();

    private ModuleNames() {
    }

    public static ModuleNames of(Model model) {
        ModuleNames n = new ModuleNames();
        int[] stages = model.preset() == null ? null : Presets.RESNET_STAGES.get(model.preset());
        if (stages != null) {
            n.resnet(model.root(), stages);
        } else {
            n.sequential(model.root(), "");
        }
        return n;
    }

    private void resnet(Sequential root, int[] stages) {
        int block = 0;
        int stage = 0;
        Layer lastDense = null;
        for (Layer l : root.layers()) {
            if (l instanceof Conv2d && !torchByKiln.containsValue("conv1")) {
                torchByKiln.put(l.name(), "conv1");
            } else if (l instanceof BatchNorm && !torchByKiln.containsValue("bn1")) {
                torchByKiln.put(l.name(), "bn1");
            } else if (l instanceof Residual r) {
                String prefix = "layer" + (stage + 1) + "." + block;
                int convs = 0;
                int norms = 0;
                for (Layer b : r.body().layers()) {
                    if (b instanceof Conv2d) {
                        torchByKiln.put(b.name(), prefix + ".conv" + ++convs);
                    } else if (b instanceof BatchNorm) {
                        torchByKiln.put(b.name(), prefix + ".bn" + ++norms);
                    }
                }
                List<Layer> shortcut = r.shortcut().layers();
                for (int j = 0; j < shortcut.size(); j++) {
                    torchByKiln.put(shortcut.get(j).name(), prefix + ".downsample." + j);
                }
                if (++block == stages[Math.min(stage, stages.length - 1)]) {
                    block = 0;
                    stage++;
                }
            } else if (l instanceof Dense) {
                lastDense = l;
            }
        }
        if (lastDense != null) {
            torchByKiln.put(lastDense.name(), "fc");
        }
    }

    private void sequential(Sequential seq, String prefix) {
        List<Layer> layers = seq.layers();
        for (int i = 0; i < layers.size(); i++) {
            Layer l = layers.get(i);
            String name = prefix + i;
            if (l instanceof Residual r) {
                sequential(r.body(), name + ".body.");
                sequential(r.shortcut(), name + ".shortcut.");
            } else if (l instanceof Sequential s) {
                sequential(s, name + ".");
            } else if (!l.params().isEmpty() || !l.buffers().isEmpty()) {
                torchByKiln.put(l.name(), name);
            }
        }
    }

    /** The PyTorch module name of a Kiln layer ({@code layers.4.body.0} to {@code layer1.0.conv1}), or null. */
    public String torchLayer(String kilnLayer) {
        return torchByKiln.get(kilnLayer);
    }

    /** Every named layer: Kiln layer name to PyTorch module name, in model order. */
    public Map<String, String> layers() {
        return java.util.Collections.unmodifiableMap(torchByKiln);
    }

    /**
     * The state-dict key of a Kiln tensor: {@code layers.1.gamma} is {@code bn1.weight}, {@code layers.1.beta}
     * {@code bn1.bias}; weights, biases and running statistics keep their last part.
     */
    public String torchTensor(String kilnTensor) {
        int dot = kilnTensor.lastIndexOf('.');
        String layer = torchByKiln.get(kilnTensor.substring(0, dot));
        if (layer == null) {
            throw new IllegalArgumentException("no PyTorch name for " + kilnTensor);
        }
        String part = kilnTensor.substring(dot + 1);
        return layer + "." + switch (part) {
            case "gamma" -> "weight";
            case "beta" -> "bias";
            default -> part;
        };
    }

    /**
     * The Kiln layers a name selects: a layer by its Kiln name ({@code layers.3}) or PyTorch name
     * ({@code layer2.0.conv1}, {@code fc}), or a group of them by a prefix that ends at a dot ({@code layer2},
     * {@code layer2.0}, {@code layers.5} for a whole residual block). Empty when nothing matches.
     */
    public List<String> select(String name) {
        List<String> out = new ArrayList<>();
        for (Map.Entry<String, String> e : torchByKiln.entrySet()) {
            if (covers(name, e.getKey()) || covers(name, e.getValue())) {
                out.add(e.getKey());
            }
        }
        return out;
    }

    private static boolean covers(String name, String layer) {
        return layer.equals(name) || layer.startsWith(name + ".");
    }
}
