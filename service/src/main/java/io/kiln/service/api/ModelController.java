package io.kiln.service.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kiln.service.access.ModelAccess;
import io.kiln.service.auth.Caller;
import io.kiln.service.errors.BadInput;
import io.kiln.service.models.ModelService;
import io.kiln.service.models.ModelViews;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.Part;
import io.micronaut.http.annotation.Patch;
import io.micronaut.http.annotation.Post;
import io.micronaut.http.multipart.CompletedFileUpload;
import io.micronaut.security.annotation.Secured;
import io.micronaut.security.authentication.Authentication;
import io.micronaut.security.rules.SecurityRule;
import io.swagger.v3.oas.annotations.Operation;
import java.io.IOException;
import java.io.InputStream;

/**
 * Pretrained models (README, "Pretrained models"): weights uploaded under a name that a job spec's
 * {@code init.model} fine-tunes from. A model is its owner's and the admins' unless shared ({@link ModelAccess}).
 */
@Controller("/api/v1/models")
@Secured(SecurityRule.IS_AUTHENTICATED)
@ApiDocs.SignedIn
public class ModelController {
    private final ModelService models;
    private final ModelAccess access;

    public ModelController(ModelService models, ModelAccess access) {
        this.models = models;
        this.access = access;
    }

    @Operation(operationId = "uploadModel", summary = "Upload pretrained weights as a named model", description =
            "multipart: name, file (a .pt or .pth that torch.save wrote of a state_dict, or a .safetensors file; at "
            + "most kiln.model-limit-bytes), shared (optional, true to share it with the lab at once). The file is "
            + "read with a restricted unpickler that refuses any global beyond a state dict's; 201 with the model")
    @ApiDocs.BadRequest
    @ApiDocs.Conflicting
    @ApiDocs.TooLargeBody
    @Post(consumes = MediaType.MULTIPART_FORM_DATA)
    public HttpResponse<ObjectNode> upload(@Part("name") String name, @Part("file") CompletedFileUpload file,
                                           @Nullable @Part("shared") String shared, Authentication who)
            throws IOException {
        Caller caller = Caller.of(who);
        try (InputStream in = file.getInputStream()) {
            return HttpResponse.created(ModelViews.of(models.upload(caller, name, file.getFilename(), in,
                    sharedField(shared)), access, caller));
        }
    }

    @Operation(operationId = "listModels", summary = "The models the caller may use, by name: their own and the "
            + "shared ones (an admin's: all)")
    @Get
    public ArrayNode list(Authentication who) {
        Caller caller = Caller.of(who);
        return ModelViews.list(models.list(caller), access, caller);
    }

    @Operation(operationId = "getModel", summary = "One model: owner, format, size, tensors, parameters, SHA-256, "
            + "whether it is shared (its owner, the admins, or all once shared)")
    @ApiDocs.Refused
    @ApiDocs.NoSuch
    @Get("/{name}")
    public ObjectNode get(String name, Authentication who) {
        Caller caller = Caller.of(who);
        return ModelViews.of(models.get(caller, name), access, caller);
    }

    @Operation(operationId = "updateModel", summary = "Share a model with the lab, or stop sharing it (its owner or "
            + "an admin)", description = "body {\"shared\": true|false}")
    @ApiDocs.BadRequest
    @ApiDocs.Refused
    @ApiDocs.NoSuch
    @Patch(value = "/{name}", consumes = MediaType.APPLICATION_JSON)
    public ObjectNode update(String name, @Nullable @Body JsonNode body, Authentication who) {
        boolean shared = RequestBodies.onlyBoolean(body, "shared");
        Caller caller = Caller.of(who);
        return ModelViews.of(models.share(caller, name, shared), access, caller);
    }

    private static boolean sharedField(@Nullable String shared) {
        if (shared == null || shared.isBlank() || shared.equals("false")) {
            return false;
        }
        if (shared.equals("true")) {
            return true;
        }
        throw new BadInput("shared", "must be true or false, got \"" + shared + "\"");
    }
}
