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
    void resolve_keyIdOfAlmostAUuid_isValidation() {
        String good = id.toString();
        for (String bad : new String[] {
                good.substring(0, 35),                                   // one short
                good + "0",                                              // one long
                good.replace('-', '0'),                                  // no hyphens, right length
                good.substring(0, 8) + "0" + good.substring(9),          // a hyphen replaced by a digit
                "-" + good.substring(1),                                 // a hyphen where a digit belongs
                good.substring(0, 35) + "g",                             // not hex
                good.substring(0, 35) + "\u0661",                       // ARABIC-INDIC DIGIT ONE: a digit, not ASCII
                good.substring(0, 35) + "\uff41",                       // FULLWIDTH LATIN SMALL LETTER A
                good.substring(0, 8) + "\u2010" + good.substring(9)}) { // HYPHEN, not HYPHEN-MINUS
            assertReason(bad, ErrorReason.VALIDATION);
        }
        assertThat(names.resolve("ABCDEF01-2345-6789-ABCD-EF0123456789", ACCOUNT).id())
                .isEqualTo(UUID.fromString("abcdef01-2345-6789-abcd-ef0123456789"));
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
