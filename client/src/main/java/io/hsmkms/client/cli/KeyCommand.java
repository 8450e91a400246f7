package io.hsmkms.client.cli;

import picocli.CommandLine.Parameters;

/** A command about one key, named by its first argument. */
abstract class KeyCommand extends KmsCommand {
    @Parameters(index = "0", paramLabel = "KEY", description = "Key id, key ARN, alias name or alias ARN.")
    String keyId;
}
