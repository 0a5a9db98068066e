package io.kiln.client.cli;

import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "tokens", mixinStandardHelpOptions = true,
        description = "Lists your API tokens (an admin: anyone's, with --user): id, label, created, last used, expiry; "
                + "never the secrets. The token in use is marked *.")
final class TokensCommand extends ClientCommand {
    @Option(names = "--user", paramLabel = "NAME", description = "whose tokens (default: the token's own user)")
    String user;

    @Override
    public Integer call() {
        JsonNode me = client().me();
        String of = user != null ? user : me.path("name").asText();
        String inUse = me.path("token").path("id").asText("");
        JsonNode tokens = client().tokens(of);
        out().printf("  %-8s %-24s %-20s %-20s %s%n", "ID", "LABEL", "CREATED", "LAST USED", "EXPIRES");
        for (JsonNode t : tokens) {
            String expires = t.path("expired").asBoolean() ? "expired" : day(t.path("expiresAt"));
            out().printf("%s %-8s %-24s %-20s %-20s %s%n", t.path("id").asText().equals(inUse) ? "*" : " ",
                    t.path("id").asText(), JobsCommand.cut(t.path("label").asText("-"), 24), day(t.path("createdAt")),
                    day(t.path("lastUsedAt")), expires);
        }
        if (tokens.isEmpty()) {
            out().println("(no tokens)");
        }
        return 0;
    }

    /** An instant as the table shows it: to the minute, UTC. */
    static String day(JsonNode time) {
        String s = time.asText("");
        return time.isNull() || s.isEmpty() ? "-" : s.length() >= 16 ? s.substring(0, 16).replace('T', ' ') + "Z" : s;
    }
}
