package io.hsmkms.server.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** Principal ARNs are checked by hand; they must accept exactly what the regex they replaced accepted. */
class PrincipalArnTest {
    private static final Pattern FORM =
            Pattern.compile("arn:hsmkms:iam::([0-9]{12}):(root|(user|role)/[A-Za-z0-9+=,.@_/-]{1,512})");

    @Test
    void acceptsAndRefuses_theFormsThatMatter() {
        List<String> valid = List.of("arn:hsmkms:iam::111122223333:root", "arn:hsmkms:iam::111122223333:user/alice",
                "arn:hsmkms:iam::000000000000:role/app/with.path@x=y,z+w-_", "arn:hsmkms:iam::111122223333:user/"
                + "n".repeat(512));
        List<String> invalid = List.of("", "arn:hsmkms:iam::111122223333:", "arn:hsmkms:iam::111122223333:rootx",
                "arn:hsmkms:iam::111122223333:user/", "arn:hsmkms:iam::111122223333:user/" + "n".repeat(513),
                "arn:hsmkms:iam::11112222333:root", "arn:hsmkms:iam::1111222233334:root", "arn:hsmkms:iam::11112222333a:root",
                "arn:hsmkms:iam::111122223333:group/x", "arn:hsmkms:iam::111122223333:user/al ice",
                "arn:hsmkms:iam::111122223333:user/alicé", "arn:hsmkms:iam::١١١١٢٢٢٢٣٣٣٣:root",
                "arn:aws:iam::111122223333:root", "ARN:hsmkms:iam::111122223333:root", "arn:hsmkms:iam::111122223333;root");
        for (String arn : valid) {
            assertThat(Principal.isValidArn(arn)).as(arn).isTrue();
            assertThat(FORM.matcher(arn).matches()).as(arn).isTrue();
        }
        for (String arn : invalid) {
            assertThat(Principal.isValidArn(arn)).as(arn).isFalse();
            assertThat(FORM.matcher(arn).matches()).as(arn).isFalse();
            assertThatThrownBy(() -> new Principal(arn, Map.of(), List.of(), null, false, null,
                    Principal.AuthMethod.MTLS, null)).isInstanceOf(IllegalArgumentException.class);
        }
        assertThat(Principal.isValidArn(null)).isFalse();
    }

    @Test
    void agreesWithTheRegex_onRandomNearMisses() {
        Random random = new Random(20261206);
        String[] prefixes = {"arn:hsmkms:iam::", "arn:hsmkms:iam:", "arn:hsmkms:kms::", ""};
        // Mostly the right pieces, so that both answers come up often; near misses at every position.
        String[] kinds = {"root", "user/", "role/", "roles/", "root/", "", "user"};
        String alphabet = "Aa0+=,.@_/-: é\u0661";
        int accepted = 0;
        for (int i = 0; i < 50_000; i++) {
            StringBuilder arn = new StringBuilder(prefixes[random.nextInt(3) > 0 ? 0 : random.nextInt(prefixes.length)]);
            int digits = random.nextInt(3) > 0 ? 12 : 10 + random.nextInt(4);
            for (int d = 0; d < digits; d++) {
                arn.append(random.nextInt(20) == 0 ? 'x' : (char) ('0' + random.nextInt(10)));
            }
            arn.append(random.nextInt(20) == 0 ? "" : ":").append(kinds[random.nextInt(3) > 0 ? random.nextInt(3) : random.nextInt(kinds.length)]);
            int name = switch (random.nextInt(4)) {
                case 0 -> 0;
                case 1 -> 510 + random.nextInt(5);
                default -> random.nextInt(12);
            };
            for (int n = 0; n < name; n++) {
                arn.append(random.nextInt(40) == 0 ? alphabet.charAt(random.nextInt(alphabet.length())) : 'n');
            }
            String text = arn.toString();
            boolean expected = FORM.matcher(text).matches();
            accepted += expected ? 1 : 0;

            assertThat(Principal.isValidArn(text)).as(text).isEqualTo(expected);
        }
        assertThat(accepted).as("the generator reaches both sides").isBetween(1_000, 49_000);
    }
}
