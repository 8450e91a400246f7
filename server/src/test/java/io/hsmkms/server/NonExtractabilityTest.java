package io.hsmkms.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.hsmkms.hsm.testing.SoftHsmToken;
import io.hsmkms.proto.v1.CreateKeyRequest;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import io.hsmkms.server.testing.KmsServerExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Proof from outside the JVM, with OpenSC's pkcs11-tool, that key material cannot leave the token. */
class NonExtractabilityTest {
    private static final Pattern OBJECT = Pattern.compile(
            "Secret Key Object; (.*)\\n\\s+label:\\s+(\\S+)\\n\\s+Usage:\\s+(.*)\\n\\s+Access:\\s+(.*)");

    @RegisterExtension
    static final KmsServerExtension server = new KmsServerExtension();

    @Test
    void everyBackingKey_isSensitiveNeverExtractableAndUnreadable() {
        List<String> labels = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            String keyId = server.kms().createKey(CreateKeyRequest.getDefaultInstance()).getKeyMetadata().getKeyId();
            labels.add("hsmkms/" + keyId + "/1");
        }
        // The node's health-check key is made the same way and must be just as locked in.
        labels.add(KmsServer.PROBE_KEY_PREFIX + io.hsmkms.server.testing.KmsTestServer.NODE_ID);

        SoftHsmToken.ToolResult listing = server.token().pkcs11Tool("--list-objects", "--type", "secrkey");
        assertThat(listing.exitCode()).isZero();
        List<String> seen = new ArrayList<>();
        Matcher m = OBJECT.matcher(listing.output());
        while (m.find()) {
            seen.add(m.group(2));
            assertThat(m.group(1)).as("type of %s", m.group(2)).isEqualTo("AES length 32");
            assertThat(m.group(3).trim()).as("usage of %s", m.group(2)).isEqualTo("encrypt, decrypt");
            assertThat(m.group(4).trim()).as("access of %s", m.group(2))
                    .isEqualTo("sensitive, always sensitive, never extractable, local");
        }
        assertThat(seen).containsExactlyInAnyOrderElementsOf(labels);

        for (String label : labels) {
            SoftHsmToken.ToolResult read = server.token().pkcs11Tool("--read-object", "--type", "secrkey", "--label", label);
            assertThat(read.exitCode()).as("reading %s", label).isNotZero();
            assertThat(read.output()).contains("CKR_ATTRIBUTE_SENSITIVE");
        }
    }
}
