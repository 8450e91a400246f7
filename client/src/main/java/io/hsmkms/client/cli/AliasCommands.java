package io.hsmkms.client.cli;

import io.hsmkms.proto.v1.ListAliasesRequest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "aliases", description = "Friendly names (alias/...) for keys.",
        subcommands = {AliasCommands.Create.class, AliasCommands.Update.class, AliasCommands.Delete.class,
                AliasCommands.ListAliases.class})
final class AliasCommands {
    private AliasCommands() {}

    @Command(name = "create")
    static final class Create extends KmsCommand {
        @Parameters(index = "0", paramLabel = "ALIAS", description = "alias/<name>")
        String alias;
        @Parameters(index = "1", paramLabel = "KEY", description = "Key id or key ARN.")
        String keyId;

        @Override
        public Integer call() {
            kms().createAlias(alias, keyId);
            return Hsmkms.ExitCodes.OK;
        }
    }

    @Command(name = "update", description = "Point an alias at another key.")
    static final class Update extends KmsCommand {
        @Parameters(index = "0", paramLabel = "ALIAS")
        String alias;
        @Parameters(index = "1", paramLabel = "KEY")
        String keyId;

        @Override
        public Integer call() {
            kms().updateAlias(alias, keyId);
            return Hsmkms.ExitCodes.OK;
        }
    }

    @Command(name = "delete")
    static final class Delete extends KmsCommand {
        @Parameters(paramLabel = "ALIAS")
        String alias;

        @Override
        public Integer call() {
            kms().deleteAlias(alias);
            return Hsmkms.ExitCodes.OK;
        }
    }

    @Command(name = "list")
    static final class ListAliases extends KmsCommand {
        @Option(names = "--key-id", description = "Only this key's aliases.")
        String keyId;
        @Mixin
        Paging paging;

        @Override
        public Integer call() {
            ListAliasesRequest.Builder request = ListAliasesRequest.newBuilder();
            paging.apply(request::setLimit, request::setMarker);
            if (keyId != null) {
                request.setKeyId(keyId);
            }
            return print(kms().listAliases(request.build()));
        }
    }
}
