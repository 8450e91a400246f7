package io.hsmkms.server.tools;

import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.util.io.pem.PemObject;

/**
 * A development PKI and token key, so mTLS works in minutes: a CA, a server certificate for
 * localhost, and client certificates whose SPIFFE URI SAN is {@code spiffe://hsmkms.local/<name>}.
 * Not for production: the CA key sits on disk next to everything else.
 */
public final class DevCredentials {
    public static final String TRUST_DOMAIN = "spiffe://hsmkms.local/";
    private static final Duration VALIDITY = Duration.ofDays(365);
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final java.util.regex.Pattern CLIENT_NAME = java.util.regex.Pattern.compile("[a-zA-Z0-9._-]{1,64}");

    private DevCredentials() {}

    /** Where the files are. Private keys and the token key are mode 0600. */
    public record Layout(Path dir) {
        public Path caCertificate() {
            return dir.resolve("ca.pem");
        }

        public Path serverCertificate() {
            return dir.resolve("server.pem");
        }

        public Path serverKey() {
            return dir.resolve("server.key");
        }

        public Path clientCertificate(String name) {
            return dir.resolve(name + ".pem");
        }

        public Path clientKey(String name) {
            return dir.resolve(name + ".key");
        }

        public Path tokenKey() {
            return dir.resolve("token.key");
        }
    }

    /**
     * Creates what is missing in {@code dir}: the CA, server certificate and token key on first use,
     * and a client certificate for every name that has none yet. Existing files are kept, so this
     * is safe to run again, e.g. to add a client.
     */
    public static Layout create(Path dir, List<String> clients) throws IOException, GeneralSecurityException {
        Files.createDirectories(dir);
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
        Layout files = new Layout(dir);
        if (!Files.exists(files.tokenKey())) {
            byte[] key = new byte[32];
            RANDOM.nextBytes(key);
            writePrivate(files.tokenKey(), key);
        }
        KeyPair ca;
        X509Certificate caCert;
        if (Files.exists(files.caCertificate())) {
            caCert = readCertificate(files.caCertificate());
            ca = new KeyPair(caCert.getPublicKey(), readPrivateKey(dir.resolve("ca.key")));
        } else {
            ca = ecKeyPair();
            caCert = certificate(new X500Name("CN=HSM-KMS development CA"), ca, null, ca, true, null, null);
            KeyPair server = ecKeyPair();
            X509Certificate serverCert = certificate(new X500Name("CN=localhost"), server, caCert, ca, false,
                    new GeneralNames(new GeneralName[] {new GeneralName(GeneralName.dNSName, "localhost"),
                            new GeneralName(GeneralName.iPAddress, "127.0.0.1"), new GeneralName(GeneralName.iPAddress, "::1")}),
                    KeyPurposeId.id_kp_serverAuth);
            Files.writeString(files.serverCertificate(), pem(serverCert));
            writePrivate(files.serverKey(), pemKey(server).getBytes(StandardCharsets.US_ASCII));
            writePrivate(dir.resolve("ca.key"), pemKey(ca).getBytes(StandardCharsets.US_ASCII));
            Files.writeString(files.caCertificate(), pem(caCert));
        }
        for (String client : clients) {
            if (!CLIENT_NAME.matcher(client).matches()) {
                throw new IllegalArgumentException("client names are 1..64 of [a-zA-Z0-9._-]");
            }
            if (Files.exists(files.clientCertificate(client))) {
                continue;
            }
            KeyPair pair = ecKeyPair();
            X509Certificate cert = certificate(new X500Name("CN=" + client), pair, caCert, ca, false,
                    new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier, TRUST_DOMAIN + client)),
                    KeyPurposeId.id_kp_clientAuth);
            Files.writeString(files.clientCertificate(client), pem(cert));
            writePrivate(files.clientKey(client), pemKey(pair).getBytes(StandardCharsets.US_ASCII));
        }
        return files;
    }

    /** {@code DevCredentials <dir> <client name>...} */
    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: DevCredentials DIR [CLIENT_NAME...]");
            System.exit(2);
        }
        create(Path.of(args[0]), List.of(args).subList(1, args.length));
        System.out.println("development credentials in " + Path.of(args[0]).toAbsolutePath());
    }

    private static KeyPair ecKeyPair() throws GeneralSecurityException {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
        generator.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
        return generator.generateKeyPair();
    }

    private static X509Certificate certificate(X500Name subject, KeyPair subjectKeys, X509Certificate issuer,
                                               KeyPair issuerKeys, boolean isCa, GeneralNames altNames,
                                               KeyPurposeId purpose) throws GeneralSecurityException, IOException {
        Instant now = Instant.now();
        X500Name issuerName = issuer == null ? subject : X500Name.getInstance(issuer.getSubjectX500Principal().getEncoded());
        X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(issuerName, new BigInteger(64, RANDOM),
                Date.from(now.minus(Duration.ofMinutes(5))), Date.from(now.plus(VALIDITY)), subject, subjectKeys.getPublic());
        JcaX509ExtensionUtils extensions = new JcaX509ExtensionUtils();
        builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(isCa));
        builder.addExtension(Extension.subjectKeyIdentifier, false, extensions.createSubjectKeyIdentifier(subjectKeys.getPublic()));
        if (isCa) {
            builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
        } else {
            builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
            builder.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(purpose));
            builder.addExtension(Extension.subjectAlternativeName, false, altNames);
            builder.addExtension(Extension.authorityKeyIdentifier, false,
                    extensions.createAuthorityKeyIdentifier(issuer));
        }
        try {
            return new JcaX509CertificateConverter().getCertificate(
                    builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(issuerKeys.getPrivate())));
        } catch (OperatorCreationException e) {
            throw new GeneralSecurityException("cannot sign certificate", e);
        }
    }

    private static String pem(X509Certificate certificate) throws IOException {
        StringWriter out = new StringWriter();
        try (JcaPEMWriter writer = new JcaPEMWriter(out)) {
            writer.writeObject(certificate);
        }
        return out.toString();
    }

    /** PKCS#8 PEM, the format Netty reads. */
    private static String pemKey(KeyPair pair) throws IOException {
        StringWriter out = new StringWriter();
        try (JcaPEMWriter writer = new JcaPEMWriter(out)) {
            writer.writeObject(new PemObject("PRIVATE KEY", pair.getPrivate().getEncoded()));
        }
        return out.toString();
    }

    private static X509Certificate readCertificate(Path file) throws IOException, GeneralSecurityException {
        try (var in = Files.newInputStream(file)) {
            return (X509Certificate) java.security.cert.CertificateFactory.getInstance("X.509").generateCertificate(in);
        }
    }

    private static java.security.PrivateKey readPrivateKey(Path file) throws IOException, GeneralSecurityException {
        String base64 = Files.readString(file).replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
        return java.security.KeyFactory.getInstance("EC")
                .generatePrivate(new java.security.spec.PKCS8EncodedKeySpec(java.util.Base64.getDecoder().decode(base64)));
    }

    private static void writePrivate(Path file, byte[] content) throws IOException {
        Files.deleteIfExists(file);
        Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.write(file, content);
    }
}
