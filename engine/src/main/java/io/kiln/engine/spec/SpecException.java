package io.kiln.engine.spec;

/** A job spec that breaks a rule. {@link #field()} is the JSON path of the offending field, e.g. {@code model.layers[2].units}. */
public class SpecException extends RuntimeException {
    private final String field;

    public SpecException(String field, String rule) {
        super(field.isEmpty() ? rule : field + ": " + rule);
        this.field = field;
    }

    public String field() {
        return field;
    }
}
