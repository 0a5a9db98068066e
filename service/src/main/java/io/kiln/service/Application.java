package io.kiln.service;

import io.kiln.service.config.DatabaseSettings;
import io.micronaut.runtime.Micronaut;
import io.swagger.v3.oas.annotations.OpenAPIDefinition;
import io.swagger.v3.oas.annotations.info.Info;
import io.swagger.v3.oas.annotations.servers.Server;
import io.swagger.v3.oas.annotations.security.SecurityScheme;
import io.swagger.v3.oas.annotations.enums.SecuritySchemeType;

@OpenAPIDefinition(info = @Info(title = "Kiln", version = "1", description = "GPU training service for a lab: queue "
        + "training jobs, follow their metrics, fetch checkpoints and reports. Every error answer, whatever its "
        + "status, is one JSON shape (the Error schema) with a message for a person."),
        servers = @Server(url = "/", description = "this Kiln server, the one that serves this document"))
@SecurityScheme(name = "bearer", type = SecuritySchemeType.HTTP, scheme = "bearer")
public class Application {
    public static void main(String[] args) {
        Micronaut.build(args).mainClass(Application.class).properties(DatabaseSettings.fromEnvironment()).start();
    }
}
