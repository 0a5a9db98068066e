package io.kiln.engine.weights;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;

/**
 * The tensors of a state dict saved by {@code torch.save} (the zip format, PyTorch 1.6 and later): a folder
 * holding {@code data.pkl}, the pickled dict whose tensors refer by key to raw storages {@code data/<key>}, and
 * {@code byteorder} in newer files. The pickle is read by {@link RestrictedUnpickler}, allowing only what a state
 * dict is made of: tensor rebuilds, typed storages and {@code OrderedDict}.
 */
final class TorchFile {
    private static final Map<String, ElementType> STORAGES = Map.ofEntries(
            Map.entry("torch.DoubleStorage", ElementType.F64), Map.entry("torch.FloatStorage", ElementType.F32),
            Map.entry("torch.HalfStorage", ElementType.F16), Map.entry("torch.BFloat16Storage", ElementType.BF16),
            Map.entry("torch.LongStorage", ElementType.I64), Map.entry("torch.IntStorage", ElementType.I32),
            Map.entry("torch.ShortStorage", ElementType.I16), Map.entry("torch.CharStorage", ElementType.I8),
            Map.entry("torch.ByteStorage", ElementType.U8), Map.entry("torch.BoolStorage", ElementType.BOOL),
            Map.entry("torch.UntypedStorage", ElementType.U8), Map.entry("torch.storage.UntypedStorage", ElementType.U8));
    private static final String REBUILD_TENSOR = "torch._utils._rebuild_tensor_v2";
    private static final String REBUILD_PARAMETER = "torch._utils._rebuild_parameter";
    private static final String REBUILD_PARAMETER_WITH_STATE = "torch._utils._rebuild_parameter_with_state";
    private static final String ORDERED_DICT = "collections.OrderedDict";
    static final Set<String> ALLOWED_GLOBALS;

    static {
        Set<String> allowed = new java.util.HashSet<>(STORAGES.keySet());
        allowed.addAll(List.of(REBUILD_TENSOR, REBUILD_PARAMETER, REBUILD_PARAMETER_WITH_STATE, ORDERED_DICT));
        ALLOWED_GLOBALS = Set.copyOf(allowed);
    }

    /** Keys under which training scripts commonly nest the state dict in a bigger checkpoint dict. */
    private static final List<String> NESTED_KEYS = List.of("state_dict", "model_state_dict", "model");

    private record StorageRef(String key, ElementType type, long numel) {
    }

    private record TensorRef(StorageRef storage, long offset, long[] size, long[] stride) {
    }

    private final String source;
    private final ZipFile zip;
    private final String prefix;
    private final WeightLimits limits;
    private final Map<String, ByteBuffer> storages = new HashMap<>();
    private ByteOrder order = ByteOrder.LITTLE_ENDIAN;

    private TorchFile(Path file, ZipFile zip, String prefix, WeightLimits limits) {
        this.source = file.toString();
        this.zip = zip;
        this.prefix = prefix;
        this.limits = limits;
    }

    static Map<String, WeightTensor> read(Path file, WeightLimits limits) throws IOException {
        try (ZipFile zip = new ZipFile(file.toFile())) {
            String prefix = null;
            for (Enumeration<? extends ZipEntry> e = zip.entries(); e.hasMoreElements(); ) {
                String name = e.nextElement().getName();
                if (name.endsWith("data.pkl") && name.indexOf('/') == name.length() - "/data.pkl".length()) {
                    if (prefix != null) {
                        throw new WeightsException(file + ": the archive holds more than one data.pkl");
                    }
                    prefix = name.substring(0, name.length() - "data.pkl".length());
                }
            }
            if (prefix == null) {
                throw new WeightsException(file + ": a zip archive but not a torch.save file (no <folder>/data.pkl)");
            }
            return new TorchFile(file, zip, prefix, limits).read();
        } catch (ZipException e) {
            throw new WeightsException(file + ": not a readable torch.save file: the zip archive is truncated or "
                    + "damaged (" + e.getMessage() + ")", e);
        }
    }

    private Map<String, WeightTensor> read() throws IOException {
        ZipEntry byteOrder = zip.getEntry(prefix + "byteorder");
        if (byteOrder != null) {
            String o = new String(entryBytes(byteOrder, 16), StandardCharsets.US_ASCII).trim();
            order = switch (o) {
                case "little" -> ByteOrder.LITTLE_ENDIAN;
                case "big" -> ByteOrder.BIG_ENDIAN;
                default -> throw new WeightsException(source + ": unknown byteorder \"" + o + "\"");
            };
        }
        byte[] pickle = entryBytes(zip.getEntry(prefix + "data.pkl"), limits.maxPickleBytes());
        Object root = new RestrictedUnpickler(ALLOWED_GLOBALS, new StateDictSemantics(), source + " (data.pkl)")
                .load(pickle);
        Map<?, ?> dict = stateDict(root);
        if (dict.size() > limits.maxTensors()) {
            throw new WeightsException(source + ": " + dict.size() + " tensors, more than the limit of "
                    + limits.maxTensors() + " (kiln.weights.max-tensors)");
        }
        Map<String, WeightTensor> out = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : dict.entrySet()) {
            String name = (String) e.getKey();
            out.put(name, materialize(name, (TensorRef) e.getValue()));
        }
        return out;
    }

    /** The dict of tensors: the pickle's root, or a dict of tensors nested under a usual key of a checkpoint dict. */
    private Map<?, ?> stateDict(Object root) {
        if (!(root instanceof Map<?, ?> m)) {
            throw new WeightsException(source + ": holds a " + RestrictedUnpickler.describe(root)
                    + ", not a state dict (save model.state_dict())");
        }
        if (allTensors(m)) {
            return m;
        }
        for (String key : NESTED_KEYS) {
            if (m.get(key) instanceof Map<?, ?> inner && allTensors(inner)) {
                return inner;
            }
        }
        List<String> odd = new ArrayList<>();
        for (Map.Entry<?, ?> e : m.entrySet()) {
            if (!(e.getKey() instanceof String) || !(e.getValue() instanceof TensorRef)) {
                odd.add(e.getKey() + " (" + RestrictedUnpickler.describe(e.getValue()) + ")");
            }
        }
        throw new WeightsException(source + ": not a state dict of tensors: " + odd.subList(0, Math.min(10, odd.size()))
                + (odd.size() > 10 ? " and " + (odd.size() - 10) + " more" : "")
                + " are not tensors (save model.state_dict(), or a dict with it under \"state_dict\")");
    }

    private static boolean allTensors(Map<?, ?> m) {
        return !m.isEmpty() && m.entrySet().stream()
                .allMatch(e -> e.getKey() instanceof String && e.getValue() instanceof TensorRef);
    }

    private WeightTensor materialize(String name, TensorRef t) throws IOException {
        if (t.size().length > 8) {
            throw new WeightsException(source + ": tensor " + name + " has " + t.size().length + " dimensions");
        }
        int[] shape = new int[t.size().length];
        long count = 1;
        long last = t.offset();
        for (int i = 0; i < shape.length; i++) {
            if (t.size()[i] < 0 || t.size()[i] > Integer.MAX_VALUE || t.stride()[i] < 0) {
                throw new WeightsException(source + ": tensor " + name + " has an impossible size or stride");
            }
            shape[i] = (int) t.size()[i];
            count *= shape[i];
            if (count > Integer.MAX_VALUE - 8) {
                throw new WeightsException(source + ": tensor " + name + " has more than 2^31 elements");
            }
            last += (t.size()[i] - 1) * t.stride()[i];
        }
        float[] values = new float[(int) count];
        if (count > 0) {
            if (t.offset() < 0 || last >= t.storage().numel()) {
                throw new WeightsException(source + ": tensor " + name + " reaches past the end of its storage "
                        + t.storage().key() + " (" + t.storage().numel() + " elements)");
            }
            ByteBuffer data = storage(t.storage());
            ElementType type = t.storage().type();
            if (contiguous(shape, t.stride())) {
                for (int k = 0; k < values.length; k++) {
                    values[k] = type.get(data, t.offset() + k);
                }
                return new WeightTensor(name, type.label(), type.floating(), shape, values);
            }
            long[] index = new long[shape.length];
            for (int k = 0; k < values.length; k++) {
                long at = t.offset();
                for (int d = 0; d < shape.length; d++) {
                    at += index[d] * t.stride()[d];
                }
                values[k] = type.get(data, at);
                for (int d = shape.length - 1; d >= 0; d--) {
                    if (++index[d] < shape[d]) {
                        break;
                    }
                    index[d] = 0;
                }
            }
        }
        return new WeightTensor(name, t.storage().type().label(), t.storage().type().floating(), shape, values);
    }

    private static boolean contiguous(int[] shape, long[] stride) {
        long expected = 1;
        for (int d = shape.length - 1; d >= 0; d--) {
            if (shape[d] != 1 && stride[d] != expected) {
                return false;
            }
            expected *= shape[d];
        }
        return true;
    }

    private ByteBuffer storage(StorageRef ref) throws IOException {
        ByteBuffer cached = storages.get(ref.key());
        if (cached != null) {
            return cached;
        }
        ZipEntry e = zip.getEntry(prefix + "data/" + ref.key());
        if (e == null) {
            throw new WeightsException(source + ": storage " + ref.key() + " is missing from the archive (data/"
                    + ref.key() + ")");
        }
        long expected = ref.numel() * ref.type().bytes;
        if (e.getSize() >= 0 && e.getSize() < expected) {
            throw new WeightsException(source + ": storage data/" + ref.key() + " holds " + e.getSize()
                    + " bytes but its " + ref.numel() + " " + ref.type().label() + " elements need " + expected);
        }
        ByteBuffer b = ByteBuffer.wrap(entryBytes(e, expected)).order(order);
        if (b.capacity() < expected) {
            throw new WeightsException(source + ": storage data/" + ref.key() + " is truncated (" + b.capacity()
                    + " of " + expected + " bytes)");
        }
        storages.put(ref.key(), b);
        return b;
    }

    private byte[] entryBytes(ZipEntry e, long max) throws IOException {
        if (e.getSize() > max) {
            throw new WeightsException(source + ": " + e.getName() + " is " + e.getSize() + " bytes, more than the limit of "
                    + max + (e.getName().endsWith("data.pkl") ? " (kiln.weights.max-pickle-bytes)" : ""));
        }
        try (InputStream in = zip.getInputStream(e)) {
            byte[] b = in.readNBytes((int) Math.min(max, Integer.MAX_VALUE - 8));
            if (e.getSize() >= 0 && b.length != e.getSize()) {
                throw new WeightsException(source + ": " + e.getName() + " is truncated");
            }
            return b;
        } catch (ZipException | java.io.EOFException ex) {
            throw new WeightsException(source + ": " + e.getName() + " cannot be read: the archive is damaged ("
                    + ex.getMessage() + ")", ex);
        }
    }

    /** What the allowed globals of a state dict stand for. */
    private final class StateDictSemantics implements RestrictedUnpickler.Semantics {
        @Override
        public Object reduce(RestrictedUnpickler.Global callable, RestrictedUnpickler.Tuple args) {
            switch (callable.qualified()) {
                case ORDERED_DICT -> {
                    Map<Object, Object> m = new LinkedHashMap<>();
                    if (args.size() == 1 && args.get(0) instanceof List<?> pairs) {
                        for (Object p : pairs) {
                            RestrictedUnpickler.Tuple kv = (RestrictedUnpickler.Tuple) p;
                            m.put(kv.get(0), kv.get(1));
                        }
                    } else if (args.size() != 0) {
                        throw bad("OrderedDict with " + args.size() + " arguments");
                    }
                    return m;
                }
                case REBUILD_TENSOR -> {
                    if (args.size() < 6 || !(args.get(0) instanceof StorageRef storage)) {
                        throw bad(REBUILD_TENSOR + " without a storage");
                    }
                    long[] size = longs(args.get(2));
                    long[] stride = longs(args.get(3));
                    if (size.length != stride.length) {
                        throw bad("a tensor with " + size.length + " sizes but " + stride.length + " strides");
                    }
                    return new TensorRef(storage, (Long) args.get(1), size, stride);
                }
                case REBUILD_PARAMETER, REBUILD_PARAMETER_WITH_STATE -> {
                    if (args.size() < 1 || !(args.get(0) instanceof TensorRef t)) {
                        throw bad(callable.qualified() + " without a tensor");
                    }
                    return t;
                }
                default -> throw bad(callable.qualified() + " is not callable");
            }
        }

        @Override
        public Object build(Object target, Object state) {
            // OrderedDict carries the state dict's _metadata (module versions) as instance state; nothing to keep.
            if (target instanceof Map<?, ?>) {
                return target;
            }
            throw bad("BUILD on a " + RestrictedUnpickler.describe(target));
        }

        @Override
        public Object persistentLoad(Object pid) {
            if (pid instanceof RestrictedUnpickler.Tuple t && t.size() == 5 && "storage".equals(t.get(0))
                    && t.get(1) instanceof RestrictedUnpickler.Global g && STORAGES.containsKey(g.qualified())
                    && t.get(2) instanceof String key && t.get(4) instanceof Long numel && numel >= 0) {
                if (!key.matches("[A-Za-z0-9_]{1,64}")) {
                    throw bad("storage key \"" + key + "\"");
                }
                return new StorageRef(key, STORAGES.get(g.qualified()), numel);
            }
            throw bad("a persistent id that is not a tensor storage");
        }

        private long[] longs(Object tuple) {
            RestrictedUnpickler.Tuple t = (RestrictedUnpickler.Tuple) tuple;
            long[] out = new long[t.size()];
            for (int i = 0; i < out.length; i++) {
                out[i] = (Long) t.get(i);
            }
            return out;
        }

        private WeightsException bad(String what) {
            return new WeightsException(source + ": not a plain state dict: " + what);
        }
    }
}
