package io.hsmkms.client.cli;

import io.hsmkms.proto.v1.EnableKeyRotationRequest;
import io.hsmkms.proto.v1.ListKeyRotationsRequest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "rotation", description = "Automatic and on-demand rotation of a key's backing material.",
        subcommands = {RotationCommands.Enable.class, RotationCommands.Disable.class, RotationCommands.Status.class,
                RotationCommands.RotateNow.class, RotationCommands.ListRotations.class})
final class RotationCommands {
    private RotationCommands() {}

    @Command(name = "enable")
    static final class Enable extends KeyCommand {
        @Option(names = "--period-days", defaultValue = "0", description = "90..2560 (default 365).")
        int days;

        @Override
        public Integer call() {
            kms().enableKeyRotation(EnableKeyRotationRequest.newBuilder().setKeyId(keyId)
                    .setRotationPeriodInDays(days).build());
            return Hsmkms.ExitCodes.OK;
        }
    }

    @Command(name = "disable")
    static final class Disable extends KeyCommand {

        @Override
        public Integer call() {
            kms().disableKeyRotation(keyId);
            return Hsmkms.ExitCodes.OK;
        }
    }

    @Command(name = "status")
    static final class Status extends KeyCommand {

        @Override
        public Integer call() {
            return print(kms().getKeyRotationStatus(keyId));
        }
    }

    @Command(name = "rotate-now", description = "A new backing version now (at most 10 per key).")
    static final class RotateNow extends KeyCommand {

        @Override
        public Integer call() {
            return print(kms().rotateKeyOnDemand(keyId));
        }
    }

    @Command(name = "list")
    static final class ListRotations extends KeyCommand {
        @Mixin
        Paging paging;

        @Override
        public Integer call() {
            ListKeyRotationsRequest.Builder request = ListKeyRotationsRequest.newBuilder().setKeyId(keyId);
            paging.apply(request::setLimit, request::setMarker);
            return print(kms().listKeyRotations(request.build()));
        }
    }
}
