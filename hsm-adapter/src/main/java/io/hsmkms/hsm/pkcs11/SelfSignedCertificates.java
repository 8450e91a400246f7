package io.hsmkms.hsm.pkcs11;

import java.math.BigInteger;
import java.security.KeyPair;
import java.security.Provider;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Date;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A PKCS#11 KeyStore stores a private key only together with a certificate. The certificate only
 * carries the public key next to its private key in the token; it is signed inside the token by
 * that private key and means nothing else.
 */
final class SelfSignedCertificates {
    private SelfSignedCertificates() {}

    static X509Certificate create(KeyPair pair, String label, Provider tokenProvider) throws Exception {
        X500Name name = new X500Name("CN=" + label.replaceAll("[^A-Za-z0-9._/-]", "_"));
        Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
        JcaX509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(name, BigInteger.valueOf(now.getEpochSecond()),
                Date.from(now), Date.from(now.plus(36_500, ChronoUnit.DAYS)), name, pair.getPublic());
        return new JcaX509CertificateConverter()
                .getCertificate(builder.build(new JcaContentSignerBuilder("SHA256withECDSA").setProvider(tokenProvider)
                        .build(pair.getPrivate())));
    }
}
