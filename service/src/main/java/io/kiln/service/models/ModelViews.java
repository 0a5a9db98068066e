package io.kiln.service.models;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kiln.service.access.ModelAccess;
import io.kiln.service.auth.Caller;
import io.kiln.service.store.ModelRow;
import java.util.List;

/** Models as the API shows them. */
public final class ModelViews {
    private static final ObjectMapper JSON = new ObjectMapper();

    private ModelViews() {
    }

    public static ObjectNode of(ModelRow m, ModelAccess access, Caller caller) {
        ObjectNode n = JSON.createObjectNode();
        n.put("name", m.name());
        n.put("user", m.userName());
        n.put("format", m.format());
        n.put("fileName", m.fileName());
        n.put("bytes", m.bytes());
        n.put("tensors", m.tensors());
        n.put("parameters", m.parameters());
        n.put("sha256", m.sha256());
        n.put("shared", m.shared());
        n.put("createdAt", m.createdAt().toString());
        n.putObject("permissions").put("share", access.mayManage(m, caller));
        return n;
    }

    public static ArrayNode list(List<ModelRow> models, ModelAccess access, Caller caller) {
        ArrayNode out = JSON.createArrayNode();
        models.forEach(m -> out.add(of(m, access, caller)));
        return out;
    }
}
