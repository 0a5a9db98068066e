package io.kiln.service.access;

import io.kiln.service.auth.Caller;
import io.kiln.service.errors.Forbidden;
import io.kiln.service.store.ModelRow;
import io.micronaut.core.annotation.Nullable;
import jakarta.inject.Singleton;

/**
 * Who may see and use an uploaded pretrained model (README, "Pretrained models"): the rule of {@link JobAccess}
 * for a job's results. A model is its owner's and the admins' unless the owner (or an admin) shares it with the
 * lab; then every signed-in user sees it and fine-tunes from it. Sharing is for the owner and the admins.
 */
@Singleton
public class ModelAccess {

    /** Whether the caller may see the model and fine-tune from it. */
    public boolean maySee(ModelRow model, Caller caller) {
        return caller.admin() || owns(model, caller) || model.shared();
    }

    /** Refuses, saying why and who may, a caller who may not use the model; {@code field} names the request field. */
    public void requireUse(ModelRow model, Caller caller, @Nullable String field) {
        if (!maySee(model, caller)) {
            throw new Forbidden(field, "model " + model.name() + " belongs to " + model.userName() + " and is not "
                    + "shared: it is for " + model.userName() + " and the admins only; " + model.userName()
                    + " or an admin may share it with PATCH /api/v1/models/" + model.name() + " {\"shared\": true}");
        }
    }

    /** Whether the caller may share the model or stop sharing it: its owner or an admin. */
    public boolean mayManage(ModelRow model, Caller caller) {
        return caller.admin() || owns(model, caller);
    }

    public void requireOwnerOrAdmin(ModelRow model, Caller caller, String action) {
        if (!mayManage(model, caller)) {
            throw new Forbidden("model " + model.name() + " belongs to " + model.userName() + "; only "
                    + model.userName() + " or an admin may " + action + " it (you are " + caller.name() + ")");
        }
    }

    private static boolean owns(ModelRow model, Caller caller) {
        return model.userName().equals(caller.name());
    }
}
