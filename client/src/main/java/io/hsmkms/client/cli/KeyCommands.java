package io.hsmkms.client.cli;

import io.hsmkms.proto.v1.CreateKeyRequest;
import io.hsmkms.proto.v1.ListKeysRequest;
import io.hsmkms.proto.v1.OriginType;
import io.hsmkms.proto.v1.ScheduleKeyDeletionRequest;
import io.hsmkms.proto.v1.Tag;
import io.hsmkms.proto.v1.UpdateKeyDescriptionRequest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "keys", description = "Create, inspect and change keys.",
        subcommands = {KeyCommands.Create.class, KeyCommands.Describe.class, KeyCommands.ListKeys.class,
                KeyCommands.Enable.class, KeyCommands.Disable.class, KeyCommands.UpdateDescription.class,
                KeyCommands.ScheduleDeletion.class, KeyCommands.CancelDeletion.class})
final class KeyCommands {
    private KeyCommands() {}

    @Command(name = "create", description = "A new symmetric key; prints its metadata.")
    static final class Create extends KmsCommand {
        @Option(names = "--description", paramLabel = "TEXT", description = "Up to 8192 characters.")
        String description;
        @Option(names = "--policy-file", paramLabel = "FILE", description = "Key policy JSON (default: the account root may do everything).")
        Path policyFile;
        @Option(names = "--bypass-policy-lockout-safety-check",
                description = "Accept a policy that would stop you changing the key's policy later.")
        boolean bypassLockoutCheck;
        @Option(names = "--tag", paramLabel = "K=V", description = "Tag (repeatable).")
        List<String> tags;
        @Option(names = "--external", description = "No key material: import it later (origin EXTERNAL).")
        boolean external;

        @Override
        public Integer call() throws IOException {
            CreateKeyRequest.Builder request = CreateKeyRequest.newBuilder()
                    .setBypassPolicyLockoutSafetyCheck(bypassLockoutCheck);
            if (description != null) {
                request.setDescription(description);
            }
            if (policyFile != null) {
                request.setPolicy(Files.readString(policyFile));
            }
            if (external) {
                request.setOrigin(OriginType.ORIGIN_EXTERNAL);
            }
            pairs(tags, "--tag").forEach((k, v) -> request.addTags(Tag.newBuilder().setTagKey(k).setTagValue(v)));
            return print(kms().createKey(request.build()));
        }
    }

    @Command(name = "describe", description = "A key's metadata.")
    static final class Describe extends KeyCommand {

        @Override
        public Integer call() {
            return print(kms().describeKey(keyId));
        }
    }

    @Command(name = "list", description = "The account's keys, one page.")
    static final class ListKeys extends KmsCommand {
        @Mixin
        Paging paging;

        @Override
        public Integer call() {
            ListKeysRequest.Builder request = ListKeysRequest.newBuilder();
            paging.apply(request::setLimit, request::setMarker);
            return print(kms().listKeys(request.build()));
        }
    }

    @Command(name = "enable", description = "Allow cryptographic use again.")
    static final class Enable extends KeyCommand {

        @Override
        public Integer call() {
            kms().enableKey(keyId);
            return Hsmkms.ExitCodes.OK;
        }
    }

    @Command(name = "disable", description = "Refuse every cryptographic operation with the key.")
    static final class Disable extends KeyCommand {

        @Override
        public Integer call() {
            kms().disableKey(keyId);
            return Hsmkms.ExitCodes.OK;
        }
    }

    @Command(name = "update-description", description = "Replace the key's description.")
    static final class UpdateDescription extends KeyCommand {
        @Parameters(index = "1", paramLabel = "DESCRIPTION")
        String description;

        @Override
        public Integer call() {
            kms().updateKeyDescription(UpdateKeyDescriptionRequest.newBuilder().setKeyId(keyId)
                    .setDescription(description).build());
            return Hsmkms.ExitCodes.OK;
        }
    }

    @Command(name = "schedule-deletion", description = "Destroy the key's material after 7..30 days unless cancelled.")
    static final class ScheduleDeletion extends KeyCommand {
        @Option(names = "--pending-window-days", defaultValue = "0", description = "7..30 (default 30).")
        int days;

        @Override
        public Integer call() {
            return print(kms().scheduleKeyDeletion(ScheduleKeyDeletionRequest.newBuilder().setKeyId(keyId)
                    .setPendingWindowInDays(days).build()));
        }
    }

    @Command(name = "cancel-deletion", description = "Cancel a scheduled deletion (the key stays disabled).")
    static final class CancelDeletion extends KeyCommand {

        @Override
        public Integer call() {
            return print(kms().cancelKeyDeletion(keyId));
        }
    }
}
