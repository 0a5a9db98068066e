package io.kiln.service.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kiln.service.auth.TokenService;
import io.kiln.service.store.UserRow;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.Post;
import io.micronaut.security.annotation.Secured;
import io.micronaut.security.authentication.Authentication;
import io.micronaut.security.rules.SecurityRule;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.security.SecurityRequirement;

/** Users and tokens: an admin creates them; anyone may ask who their token belongs to. */
@Controller("/api/v1")
@SecurityRequirement(name = "bearer")
public class UserController {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final TokenService tokens;

    public UserController(TokenService tokens) {
        this.tokens = tokens;
    }

    @Operation(summary = "Who this token belongs to")
    @Get("/me")
    @Secured(SecurityRule.IS_AUTHENTICATED)
    public ObjectNode me(Authentication who) {
        ObjectNode n = JSON.createObjectNode();
        n.put("name", who.getName());
        n.put("admin", who.getRoles().contains(TokenService.ADMIN));
        return n;
    }

    @Operation(summary = "Create a user (admin)", description = "body {\"name\", \"role\": \"user\"|\"admin\"}")
    @Post("/users")
    @Secured(TokenService.ADMIN)
    public HttpResponse<ObjectNode> createUser(@Body JsonNode body) {
        UserRow u = tokens.createUser(body.path("name").asText(null), body.path("role").asText(TokenService.USER));
        return HttpResponse.created(view(u));
    }

    @Get("/users")
    @Secured(TokenService.ADMIN)
    public ArrayNode users() {
        ArrayNode out = JSON.createArrayNode();
        tokens.users().forEach(u -> out.add(view(u)));
        return out;
    }

    @Operation(summary = "Create a token for a user (admin); the token is shown only in this answer")
    @Post("/users/{name}/tokens")
    @Secured(TokenService.ADMIN)
    public HttpResponse<ObjectNode> createToken(String name, @Body JsonNode body) {
        ObjectNode n = JSON.createObjectNode();
        n.put("user", name);
        n.put("token", tokens.createToken(name, body == null ? null : body.path("label").asText(null)));
        return HttpResponse.created(n);
    }

    private static ObjectNode view(UserRow u) {
        ObjectNode n = JSON.createObjectNode();
        n.put("name", u.name());
        n.put("role", u.role());
        n.put("createdAt", u.createdAt().toString());
        return n;
    }
}
