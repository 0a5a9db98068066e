package io.kiln.client.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "revoke", mixinStandardHelpOptions = true,
        description = "Revokes one of your API tokens (an admin: anyone's, with --user); it is refused from then on, "
                + "on every server. `kiln tokens` lists the ids.")
final class RevokeCommand extends ClientCommand {
    @Parameters(paramLabel = "TOKEN_ID")
    String tokenId;

    @Option(names = "--user", paramLabel = "NAME", description = "whose token (default: the token's own user)")
    String user;

    @Override
    public Integer call() {
        String of = user != null ? user : client().me().path("name").asText();
        client().revoke(of, tokenId);
        out().println("token " + tokenId + " of " + of + " revoked");
        return 0;
    }
}
