package io.hsmkms.client.cli;

import io.hsmkms.proto.v1.ListKeyPoliciesRequest;
import io.hsmkms.proto.v1.PutKeyPolicyRequest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "policy", description = "A key's policy (its one policy is named default).",
        subcommands = {PolicyCommands.Get.class, PolicyCommands.Put.class, PolicyCommands.ListPolicies.class})
final class PolicyCommands {
    private PolicyCommands() {}

    @Command(name = "get", description = "Prints the policy JSON (with --output json: the whole response).")
    static final class Get extends KeyCommand {

        @Override
        public Integer call() {
            var response = kms().getKeyPolicy(keyId);
            if (root().json()) {
                return print(response);
            }
            spec.commandLine().getOut().println(response.getPolicy());
            spec.commandLine().getOut().flush();
            return Hsmkms.ExitCodes.OK;
        }
    }

    @Command(name = "put")
    static final class Put extends KeyCommand {
        @Option(names = "--file", required = true, paramLabel = "FILE", description = "The policy JSON.")
        Path file;
        @Option(names = "--bypass-policy-lockout-safety-check")
        boolean bypass;

        @Override
        public Integer call() throws IOException {
            kms().putKeyPolicy(PutKeyPolicyRequest.newBuilder().setKeyId(keyId).setPolicyName("default")
                    .setPolicy(Files.readString(file)).setBypassPolicyLockoutSafetyCheck(bypass).build());
            return Hsmkms.ExitCodes.OK;
        }
    }

    @Command(name = "list", description = "Policy names of a key.")
    static final class ListPolicies extends KeyCommand {

        @Override
        public Integer call() {
            return print(kms().listKeyPolicies(ListKeyPoliciesRequest.newBuilder().setKeyId(keyId).build()));
        }
    }
}
