package io.kiln.engine.weights;

import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A pickle reader that builds only plain data: numbers, strings, bytes, tuples, lists, dicts, and the few
 * globals its caller allows. Python's own unpickler calls whatever a file names, which is how a pickle runs code
 * ({@code os.system}, {@code builtins.eval}); this one refuses any global that is not on the allow list, naming
 * it, and never calls anything itself: what an allowed global means when reduced or built is up to the caller.
 *
 * <p>It reads the binary opcodes of protocols 2 to 5, which {@code torch.save} and Python 3's {@code pickle}
 * write; the opcodes that make instances of arbitrary classes ({@code INST}, {@code OBJ}, {@code NEWOBJ},
 * {@code NEWOBJ_EX}, the extension registry) are refused.
 */
final class RestrictedUnpickler {

    /** A Python tuple. */
    record Tuple(List<Object> items) {
        Object get(int i) {
            return items.get(i);
        }

        int size() {
            return items.size();
        }
    }

    /** A module-level name the pickle refers to, e.g. {@code collections.OrderedDict}; only allowed ones exist. */
    record Global(String module, String name) {
        String qualified() {
            return module + "." + name;
        }
    }

    /** What the caller makes of the allowed globals. */
    interface Semantics {
        /** The object that {@code callable(*args)} stands for. */
        Object reduce(Global callable, Tuple args);

        /** The object that setting {@code state} on {@code target} gives ({@code BUILD}). */
        Object build(Object target, Object state);

        /** The object that a persistent id stands for (tensor storages, in PyTorch files). */
        Object persistentLoad(Object pid);
    }

    /** Bounds on the pickle machine's own memory: a hostile pickle cannot grow the stack or memo without end. */
    private static final int MAX_STACK = 1 << 20;
    private static final int MAX_MEMO = 1 << 20;
    private static final int MAX_LONG_BYTES = 64;

    private final Set<String> allowedGlobals;
    private final Semantics semantics;
    private final String source;
    private ByteBuffer in;
    private final List<Object> stack = new ArrayList<>();
    private final List<Integer> marks = new ArrayList<>();
    private final Map<Long, Object> memo = new HashMap<>();

    RestrictedUnpickler(Set<String> allowedGlobals, Semantics semantics, String source) {
        this.allowedGlobals = allowedGlobals;
        this.semantics = semantics;
        this.source = source;
    }

    /** Runs the pickle in {@code data} and returns what {@code STOP} leaves on the stack. */
    Object load(byte[] data) {
        in = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        try {
            while (true) {
                int at = in.position();
                int op = u8();
                if (op == '.') {
                    if (stack.size() != 1 || !marks.isEmpty()) {
                        throw fail(at, "STOP with " + stack.size() + " objects on the stack");
                    }
                    return stack.get(0);
                }
                step(op, at);
            }
        } catch (java.nio.BufferUnderflowException e) {
            throw new WeightsException(source + ": the pickle is truncated at byte " + in.position() + " of "
                    + data.length + " (the file is damaged or incomplete)");
        } catch (ClassCastException | IndexOutOfBoundsException e) {
            throw new WeightsException(source + ": malformed pickle near byte " + in.position() + " (" + e.getMessage()
                    + ")");
        }
    }

    private void step(int op, int at) {
        switch (op) {
            case 0x80 -> { // PROTO
                int proto = u8();
                if (proto > 5) {
                    throw fail(at, "pickle protocol " + proto + " is newer than 5");
                }
            }
            case 0x95 -> in.getLong(); // FRAME: a length hint, nothing to do
            case '(' -> marks.add(stack.size());
            case '0' -> pop();
            case '1' -> popMark();
            case '2' -> push(peek());
            case 'N' -> push(null);
            case 0x88 -> push(Boolean.TRUE);
            case 0x89 -> push(Boolean.FALSE);
            case 'J' -> push((long) in.getInt());
            case 'K' -> push((long) u8());
            case 'M' -> push((long) (in.getShort() & 0xFFFF));
            case 0x8a -> push(longOf(bytes(u8())));
            case 0x8b -> push(longOf(bytes(length(in.getInt() & 0xFFFFFFFFL, at))));
            case 'G' -> push(Double.longBitsToDouble(Long.reverseBytes(in.getLong()))); // big-endian
            case 'X' -> push(utf8(length(in.getInt() & 0xFFFFFFFFL, at)));
            case 0x8c -> push(utf8(u8()));
            case 0x8d -> push(utf8(length(in.getLong(), at)));
            case 'T' -> push(latin1(length(in.getInt() & 0xFFFFFFFFL, at)));
            case 'U' -> push(latin1(u8()));
            case 'B' -> push(bytes(length(in.getInt() & 0xFFFFFFFFL, at)));
            case 'C' -> push(bytes(u8()));
            case 0x8e -> push(bytes(length(in.getLong(), at)));
            case 0x96 -> push(bytes(length(in.getLong(), at))); // BYTEARRAY8
            case ')' -> push(new Tuple(List.of()));
            case 't' -> push(tuple(popMark()));
            case 0x85 -> push(tuple(List.of(pop())));
            case 0x86 -> {
                Object b = pop();
                push(tuple(List.of(pop(), b)));
            }
            case 0x87 -> {
                Object c = pop();
                Object b = pop();
                push(tuple(List.of(pop(), b, c)));
            }
            case ']' -> push(new ArrayList<>());
            case 'l' -> push(new ArrayList<>(popMark()));
            case 'a' -> {
                Object v = pop();
                list(peek(), at).add(v);
            }
            case 'e' -> {
                List<Object> items = popMark();
                list(peek(), at).addAll(items);
            }
            case '}' -> push(new LinkedHashMap<>());
            case 'd' -> {
                Map<Object, Object> m = new LinkedHashMap<>();
                putAll(m, popMark(), at);
                push(m);
            }
            case 's' -> {
                Object v = pop();
                Object k = pop();
                dict(peek(), at).put(key(k, at), v);
            }
            case 'u' -> {
                List<Object> items = popMark();
                putAll(dict(peek(), at), items, at);
            }
            case 'q' -> memoPut(u8(), at);
            case 'r' -> memoPut(in.getInt() & 0xFFFFFFFFL, at);
            case 0x94 -> memoPut(memo.size(), at);
            case 'h' -> memoGet(u8(), at);
            case 'j' -> memoGet(in.getInt() & 0xFFFFFFFFL, at);
            case 'c' -> push(global(line(at), line(at), at));
            case 0x93 -> {
                Object name = pop();
                Object module = pop();
                if (!(module instanceof String m) || !(name instanceof String n)) {
                    throw fail(at, "STACK_GLOBAL needs two strings");
                }
                push(global(m, n, at));
            }
            case 'R' -> {
                Object args = pop();
                Object callable = pop();
                if (!(callable instanceof Global g) || !(args instanceof Tuple t)) {
                    throw fail(at, "REDUCE of " + describe(callable) + " is not allowed: only allowed globals may be called");
                }
                push(semantics.reduce(g, t));
            }
            case 'b' -> {
                Object state = pop();
                push(semantics.build(pop(), state));
            }
            case 'Q' -> push(semantics.persistentLoad(pop()));
            case 'P' -> push(semantics.persistentLoad(line(at)));
            case 'i', 'o', 0x81, 0x92, 0x82, 0x83, 0x84 -> throw fail(at, "opcode " + opName(op)
                    + " makes an instance of an arbitrary class, which a state dict never needs; refused");
            default -> throw fail(at, "unsupported pickle opcode 0x" + Integer.toHexString(op)
                    + (op >= 0x20 && op < 0x7f ? " ('" + (char) op + "')" : "")
                    + " (text-mode pickles of protocol 0 and 1 are not read)");
        }
    }

    private Global global(String module, String name, int at) {
        Global g = new Global(module, name);
        if (!allowedGlobals.contains(g.qualified())) {
            throw new WeightsException(source + ": the pickle refers to the global " + g.qualified()
                    + ", which a PyTorch state dict does not need; refused (a pickle that names arbitrary globals "
                    + "can run code when Python loads it). Allowed: " + String.join(", ", new java.util.TreeSet<>(allowedGlobals)));
        }
        return g;
    }

    private static String opName(int op) {
        return switch (op) {
            case 'i' -> "INST";
            case 'o' -> "OBJ";
            case 0x81 -> "NEWOBJ";
            case 0x92 -> "NEWOBJ_EX";
            default -> "EXT" + (op == 0x82 ? 1 : op == 0x83 ? 2 : 4);
        };
    }

    static String describe(Object o) {
        if (o == null) {
            return "None";
        }
        if (o instanceof Global g) {
            return g.qualified();
        }
        return o.getClass().getSimpleName();
    }

    private Tuple tuple(List<Object> items) {
        return new Tuple(java.util.Collections.unmodifiableList(new ArrayList<>(items)));
    }

    @SuppressWarnings("unchecked")
    private List<Object> list(Object o, int at) {
        if (o instanceof ArrayList<?> l) {
            return (List<Object>) l;
        }
        throw fail(at, "APPEND to " + describe(o) + ", which is not a list");
    }

    @SuppressWarnings("unchecked")
    private Map<Object, Object> dict(Object o, int at) {
        if (o instanceof Map<?, ?> m) {
            return (Map<Object, Object>) m;
        }
        throw fail(at, "SETITEM on " + describe(o) + ", which is not a dict");
    }

    private void putAll(Map<Object, Object> m, List<Object> items, int at) {
        if (items.size() % 2 != 0) {
            throw fail(at, "odd number of items for a dict");
        }
        for (int i = 0; i < items.size(); i += 2) {
            m.put(key(items.get(i), at), items.get(i + 1));
        }
    }

    /** Dict keys must be hashable values; the state dicts here key by strings and numbers. */
    private Object key(Object k, int at) {
        if (k == null || k instanceof String || k instanceof Long || k instanceof Boolean || k instanceof Double
                || k instanceof BigInteger || k instanceof Tuple) {
            return k;
        }
        throw fail(at, "a dict key of type " + describe(k));
    }

    private void memoPut(long index, int at) {
        if (memo.size() >= MAX_MEMO && !memo.containsKey(index)) {
            throw fail(at, "more than " + MAX_MEMO + " memo entries");
        }
        memo.put(index, peek());
    }

    private void memoGet(long index, int at) {
        if (!memo.containsKey(index)) {
            throw fail(at, "memo entry " + index + " read before it was written");
        }
        push(memo.get(index));
    }

    private void push(Object o) {
        if (stack.size() >= MAX_STACK) {
            throw new WeightsException(source + ": the pickle stack grew past " + MAX_STACK + " entries");
        }
        stack.add(o);
    }

    private Object pop() {
        int floor = marks.isEmpty() ? 0 : marks.get(marks.size() - 1);
        if (stack.size() <= floor) {
            throw new WeightsException(source + ": malformed pickle: pop from an empty stack near byte " + in.position());
        }
        return stack.remove(stack.size() - 1);
    }

    private Object peek() {
        if (stack.isEmpty()) {
            throw new WeightsException(source + ": malformed pickle: empty stack near byte " + in.position());
        }
        return stack.get(stack.size() - 1);
    }

    private List<Object> popMark() {
        if (marks.isEmpty()) {
            throw new WeightsException(source + ": malformed pickle: no MARK near byte " + in.position());
        }
        int from = marks.remove(marks.size() - 1);
        List<Object> items = new ArrayList<>(stack.subList(from, stack.size()));
        stack.subList(from, stack.size()).clear();
        return items;
    }

    private int u8() {
        return in.get() & 0xFF;
    }

    private int length(long n, int at) {
        if (n < 0 || n > in.remaining()) {
            throw new WeightsException(source + ": the pickle is truncated: an item at byte " + at + " claims " + n
                    + " bytes but only " + in.remaining() + " remain");
        }
        return (int) n;
    }

    private byte[] bytes(int n) {
        byte[] b = new byte[length(n, in.position())];
        in.get(b);
        return b;
    }

    private String utf8(int n) {
        return new String(bytes(n), StandardCharsets.UTF_8);
    }

    private String latin1(int n) {
        return new String(bytes(n), StandardCharsets.ISO_8859_1);
    }

    /** A text argument ended by a newline (GLOBAL's module and name). */
    private String line(int at) {
        int start = in.position();
        for (int i = start; i < in.limit() && i - start < 4096; i++) {
            if (in.get(i) == '\n') {
                byte[] b = new byte[i - start];
                in.get(b);
                in.get();
                return new String(b, StandardCharsets.UTF_8);
            }
        }
        if (in.limit() - start < 4096) {
            throw new java.nio.BufferUnderflowException();
        }
        throw fail(at, "an unterminated text argument");
    }

    /** A little-endian two's-complement integer of LONG1/LONG4, as a Long when it fits. */
    private Object longOf(byte[] le) {
        if (le.length > MAX_LONG_BYTES) {
            throw new WeightsException(source + ": a " + le.length + "-byte integer in the pickle is implausibly long");
        }
        if (le.length == 0) {
            return 0L;
        }
        byte[] be = new byte[le.length];
        for (int i = 0; i < le.length; i++) {
            be[i] = le[le.length - 1 - i];
        }
        BigInteger v = new BigInteger(be);
        return v.bitLength() < 64 ? (Object) v.longValue() : v;
    }

    private WeightsException fail(int at, String what) {
        return new WeightsException(source + ": malformed or unsafe pickle at byte " + at + ": " + what);
    }
}
