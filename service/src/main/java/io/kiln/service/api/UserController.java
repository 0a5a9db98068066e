package io.kiln.service.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kiln.service.auth.Caller;
import io.kiln.service.auth.TokenService;
import io.kiln.service.store.TokenRow;
import io.kiln.service.store.UserRow;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Delete;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.Patch;
import io.micronaut.http.annotation.Post;
import io.micronaut.http.annotation.Status;
import io.micronaut.http.HttpStatus;
import io.micronaut.security.annotation.Secured;
import io.micronaut.security.authentication.Authentication;
import io.micronaut.security.rules.SecurityRule;
import io.swagger.v3.oas.annotations.Operation;
import java.time.Instant;

/**
 * Users and tokens: an admin creates users and their tokens and disables users; each user sees and revokes their
 * own tokens (an admin anyone's); anyone may ask who they are and which token they came with.
 */
@Controller("/api/v1")
@ApiDocs.SignedIn
public class UserController {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final TokenService tokens;

    public UserController(TokenService tokens) {
        this.tokens = tokens;
    }

    @Operation(operationId = "me", summary = "Who this token belongs to, and the token itself (never its secret)")
    @Get("/me")
    @Secured(SecurityRule.IS_AUTHENTICATED)
    public ObjectNode me(Authentication who) {
        Caller caller = Caller.of(who);
        ObjectNode n = JSON.createObjectNode();
        n.put("name", caller.name());
        n.put("admin", caller.admin());
        ObjectNode token = tokens.tokenInUse(caller).map(UserController::view).orElseGet(() -> {
            ObjectNode builtIn = JSON.createObjectNode();
            builtIn.putNull("id");
            builtIn.put("label", "KILN_ADMIN_TOKEN");
            return builtIn;
        });
        n.set("token", token);
        return n;
    }

    @Operation(operationId = "createUser", summary = "Create a user (admin)",
            description = "body {\"name\", \"role\": \"user\"|\"admin\"}")
    @ApiDocs.BadRequest
    @ApiDocs.AdminOnly
    @ApiDocs.Conflicting
    @Post(value = "/users", consumes = MediaType.APPLICATION_JSON)
    @Secured(TokenService.ADMIN)
    public HttpResponse<ObjectNode> createUser(@Nullable @Body JsonNode body) {
        JsonNode b = RequestBodies.object(body, "name", "role");
        String role = RequestBodies.optionalText(b, "role");
        UserRow u = tokens.createUser(RequestBodies.optionalText(b, "name"), role == null ? TokenService.USER : role);
        return HttpResponse.created(view(u));
    }

    @Operation(operationId = "listUsers", summary = "All users (admin)")
    @ApiDocs.AdminOnly
    @Get("/users")
    @Secured(TokenService.ADMIN)
    public ArrayNode users() {
        ArrayNode out = JSON.createArrayNode();
        tokens.users().forEach(u -> out.add(view(u)));
        return out;
    }

    @Operation(operationId = "updateUser", summary = "Disable a user, or enable them again (admin)",
            description = "body {\"disabled\": true|false}: a disabled user's tokens all answer 401, on every "
                    + "server, from the next request on; their jobs stay as they are")
    @ApiDocs.BadRequest
    @ApiDocs.AdminOnly
    @ApiDocs.NoSuch
    @ApiDocs.Conflicting
    @Patch(value = "/users/{name}", consumes = MediaType.APPLICATION_JSON)
    @Secured(TokenService.ADMIN)
    public ObjectNode updateUser(String name, @Nullable @Body JsonNode body) {
        boolean disabled = RequestBodies.onlyBoolean(body, "disabled");
        return view(tokens.setDisabled(name, disabled));
    }

    @Operation(operationId = "createToken", summary = "Create a token for a user (admin); its secret is shown only "
            + "in this answer", description = "body {\"label\", \"expiresInDays\"} (both optional; without "
            + "expiresInDays the token is valid until revoked)")
    @ApiDocs.BadRequest
    @ApiDocs.AdminOnly
    @ApiDocs.NoSuch
    @ApiDocs.Conflicting
    @Post(value = "/users/{name}/tokens", consumes = MediaType.APPLICATION_JSON)
    @Secured(TokenService.ADMIN)
    public HttpResponse<ObjectNode> createToken(String name, @Nullable @Body JsonNode body) {
        JsonNode b = RequestBodies.object(body, "label", "expiresInDays");
        TokenService.NewToken t = tokens.createToken(name, RequestBodies.optionalText(b, "label"),
                RequestBodies.optionalInt(b, "expiresInDays"));
        ObjectNode n = view(t.row());
        n.put("user", name);
        n.put("token", t.secret());
        return HttpResponse.created(n);
    }

    @Operation(operationId = "listTokens", summary = "A user's tokens: id, label, created, last used, expiry; never "
            + "the secret (the user or an admin)")
    @ApiDocs.Refused
    @ApiDocs.NoSuch
    @ApiDocs.Conflicting
    @Get("/users/{name}/tokens")
    @Secured(SecurityRule.IS_AUTHENTICATED)
    public ArrayNode listTokens(String name, Authentication who) {
        ArrayNode out = JSON.createArrayNode();
        tokens.tokensOf(name, Caller.of(who)).forEach(t -> out.add(view(t)));
        return out;
    }

    @Operation(operationId = "revokeToken", summary = "Revoke a token (the user or an admin): it answers 401 from "
            + "then on, on every server sharing the database")
    @ApiDocs.BadRequest
    @ApiDocs.Refused
    @ApiDocs.NoSuch
    @ApiDocs.Conflicting
    @Delete("/users/{name}/tokens/{tokenId}")
    @Status(HttpStatus.NO_CONTENT)
    @Secured(SecurityRule.IS_AUTHENTICATED)
    public void revokeToken(String name, long tokenId, Authentication who) {
        tokens.revoke(name, tokenId, Caller.of(who));
    }

    private static ObjectNode view(UserRow u) {
        ObjectNode n = JSON.createObjectNode();
        n.put("name", u.name());
        n.put("role", u.role());
        n.put("disabled", u.disabled());
        n.put("createdAt", u.createdAt().toString());
        return n;
    }

    private static ObjectNode view(TokenRow t) {
        ObjectNode n = JSON.createObjectNode();
        n.put("id", Long.toString(t.id()));
        n.put("label", t.label());
        n.put("createdAt", t.createdAt().toString());
        time(n, "lastUsedAt", t.lastUsedAt());
        time(n, "expiresAt", t.expiresAt());
        n.put("expired", t.expiresAt() != null && !Instant.now().isBefore(t.expiresAt()));
        return n;
    }

    private static void time(ObjectNode n, String field, @Nullable Instant t) {
        if (t == null) {
            n.putNull(field);
        } else {
            n.put(field, t.toString());
        }
    }
}
