package io.hsmkms.server.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.UUID;
import org.junit.jupiter.api.Test;

class KeyNamesTest {
    private static final String ACCOUNT = "111122223333";
    private final KeyNames names = new KeyNames("eu-1");
    private final UUID id = UUID.fromString("1234abcd-12ab-34cd-56ef-1234567890ab");

    @Test
    void arn_andResolve_roundTrip() {
        String arn = names.arn(ACCOUNT, id);

        assertThat(arn).isEqualTo("arn:hsmkms:kms:eu-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab");
        assertThat(names.resolve(arn, "999999999999")).isEqualTo(new KeyNames.KeyRef(ACCOUNT, id));
        assertThat(names.resolve(id.toString(), ACCOUNT)).isEqualTo(new KeyNames.KeyRef(ACCOUNT, id));
        assertThat(names.resolve(id.toString().toUpperCase(), ACCOUNT)).isEqualTo(new KeyNames.KeyRef(ACCOUNT, id));
    }

    @Test
    void resolve_arnOfAnotherAccount_namesThatAccountsKey() {
        assertThat(names.resolve("arn:hsmkms:kms:eu-1:999999999999:key/" + id, ACCOUNT))
                .isEqualTo(new KeyNames.KeyRef("999999999999", id));
    }

    @Test
    void resolve_arnOfAnotherRegion_isNotFound() {
        assertReason("arn:hsmkms:kms:us-2:111122223333:key/" + id, ErrorReason.NOT_FOUND);
    }

    @Test
    void resolve_malformed_isValidation() {
        for (String bad : new String[] {"", "abc", id + "x", "arn:aws:kms:eu-1:111122223333:key/" + id,
                "arn:hsmkms:kms:eu-1:111122223333:key/abc", "alias/x", " " + id}) {
            assertReason(bad, ErrorReason.VALIDATION);
        }
    }

    @Test
    void constructor_rejectsBadRegion() {
        assertThatThrownBy(() -> new KeyNames("EU 1")).isInstanceOf(IllegalArgumentException.class);
    }

    private void assertReason(String keyId, ErrorReason reason) {
        assertThatThrownBy(() -> names.resolve(keyId, ACCOUNT))
                .isInstanceOfSatisfying(KmsException.class, e -> assertThat(e.reason()).isEqualTo(reason));
    }
}
