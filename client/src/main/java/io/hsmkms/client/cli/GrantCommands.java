package io.hsmkms.client.cli;

import io.hsmkms.proto.v1.CreateGrantRequest;
import io.hsmkms.proto.v1.GrantConstraints;
import io.hsmkms.proto.v1.GrantOperation;
import io.hsmkms.proto.v1.ListGrantsRequest;
import io.hsmkms.proto.v1.ListRetirableGrantsRequest;
import io.hsmkms.proto.v1.RetireGrantRequest;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "grants", description = "Allow-only delegations on one key.",
        subcommands = {GrantCommands.Create.class, GrantCommands.ListGrants.class, GrantCommands.ListRetirable.class,
                GrantCommands.Revoke.class, GrantCommands.Retire.class})
final class GrantCommands {
    private GrantCommands() {}

    @Command(name = "create", description = "Prints the grant id and token.")
    static final class Create extends KeyCommand {
        @Option(names = "--grantee", required = true, paramLabel = "PRINCIPAL_ARN")
        String grantee;
        @Option(names = "--operation", required = true, split = ",", paramLabel = "OP",
                description = "Decrypt, Encrypt, GenerateDataKey, GenerateDataKeyWithoutPlaintext, ReEncryptFrom, "
                        + "ReEncryptTo, DescribeKey, CreateGrant, RetireGrant (repeatable or comma-separated).")
        List<String> operations;
        @Option(names = "--retiring-principal", paramLabel = "PRINCIPAL_ARN")
        String retiring;
        @Option(names = "--name", description = "Makes the call idempotent.")
        String name;
        @Option(names = "--context-equals", paramLabel = "K=V", description = "Constraint: the request's context equals these pairs.")
        List<String> contextEquals;
        @Option(names = "--context-subset", paramLabel = "K=V", description = "Constraint: the request's context contains these pairs.")
        List<String> contextSubset;

        @Override
        public Integer call() {
            CreateGrantRequest.Builder request = CreateGrantRequest.newBuilder().setKeyId(keyId).setGranteePrincipal(grantee);
            for (String op : operations) {
                request.addOperations(enumValue(GrantOperation.class, "GRANT_OPERATION_", op));
            }
            if (retiring != null) {
                request.setRetiringPrincipal(retiring);
            }
            if (name != null) {
                request.setName(name);
            }
            Map<String, String> equals = pairs(contextEquals, "--context-equals");
            Map<String, String> subset = pairs(contextSubset, "--context-subset");
            if (!equals.isEmpty() || !subset.isEmpty()) {
                request.setConstraints(GrantConstraints.newBuilder().putAllEncryptionContextEquals(equals)
                        .putAllEncryptionContextSubset(subset));
            }
            return print(kms().createGrant(request.build()));
        }
    }

    @Command(name = "list", description = "A key's grants.")
    static final class ListGrants extends KeyCommand {
        @Option(names = "--grant-id")
        String grantId;
        @Option(names = "--grantee")
        String grantee;
        @Mixin
        Paging paging;

        @Override
        public Integer call() {
            ListGrantsRequest.Builder request = ListGrantsRequest.newBuilder().setKeyId(keyId);
            paging.apply(request::setLimit, request::setMarker);
            if (grantId != null) {
                request.setGrantId(grantId);
            }
            if (grantee != null) {
                request.setGranteePrincipal(grantee);
            }
            return print(kms().listGrants(request.build()));
        }
    }

    @Command(name = "list-retirable", description = "Grants a principal (default: you) may retire.")
    static final class ListRetirable extends KmsCommand {
        @Option(names = "--retiring-principal")
        String retiring;
        @Mixin
        Paging paging;

        @Override
        public Integer call() {
            ListRetirableGrantsRequest.Builder request = ListRetirableGrantsRequest.newBuilder();
            paging.apply(request::setLimit, request::setMarker);
            if (retiring != null) {
                request.setRetiringPrincipal(retiring);
            }
            return print(kms().listRetirableGrants(request.build()));
        }
    }

    @Command(name = "revoke")
    static final class Revoke extends KeyCommand {
        @Parameters(index = "1", paramLabel = "GRANT_ID")
        String grantId;

        @Override
        public Integer call() {
            kms().revokeGrant(keyId, grantId);
            return Hsmkms.ExitCodes.OK;
        }
    }

    @Command(name = "retire", description = "Retire a grant by token, or by key and grant id.")
    static final class Retire extends KmsCommand {
        @Option(names = "--grant-token")
        String token;
        @Option(names = "--key-id")
        String keyId;
        @Option(names = "--grant-id")
        String grantId;

        @Override
        public Integer call() {
            if ((token == null) == (keyId == null || grantId == null)) {
                throw usage(spec, "give --grant-token, or --key-id with --grant-id");
            }
            RetireGrantRequest.Builder request = RetireGrantRequest.newBuilder();
            if (token != null) {
                request.setGrantToken(token);
            } else {
                request.setKeyId(keyId).setGrantId(grantId);
            }
            kms().retireGrant(request.build());
            return Hsmkms.ExitCodes.OK;
        }
    }
}
