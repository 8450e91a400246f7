package io.hsmkms.server.auth;

import io.hsmkms.server.core.ErrorReason;
import io.hsmkms.server.core.KmsException;
import io.hsmkms.server.core.Principal;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.security.cert.Certificate;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import javax.security.auth.x500.X500Principal;

/**
 * Turns a call's credentials into a {@link Principal}: a bearer token if one is presented (and then
 * only the token counts), else a verified client certificate mapped through the
 * {@link IdentityRegistry} by SPIFFE URI SAN or subject DN, else, only in insecure development
 * mode, a configured principal for loopback callers. Anything else is UNAUTHENTICATED.
 */
public final class Authenticator {
    private static final int URI_SAN = 6;
    private static final String CERTIFICATE_NAMES = "io.hsmkms.server.auth.certificate-names";

    private final IdentityRegistry identities;
    private final BearerTokens tokens;
    private final String insecureDevPrincipal;

    /**
     * @param tokens               null when bearer tokens are not configured
     * @param insecureDevPrincipal null unless insecure development mode is on
     */
    public Authenticator(IdentityRegistry identities, BearerTokens tokens, String insecureDevPrincipal) {
        this.identities = identities;
        this.tokens = tokens;
        this.insecureDevPrincipal = insecureDevPrincipal;
        if (insecureDevPrincipal != null && !Principal.isValidArn(insecureDevPrincipal)) {
            throw new IllegalArgumentException("the insecure dev principal must be a principal ARN");
        }
    }

    /**
     * @param authorization the "authorization" header, or null
     * @param tls           the TLS session, or null on a plaintext connection
     * @param remote        the peer address
     */
    public Principal authenticate(String authorization, SSLSession tls, SocketAddress remote) {
        String sourceIp = remote instanceof InetSocketAddress inet && inet.getAddress() != null
                ? inet.getAddress().getHostAddress() : null;
        if (authorization != null) {
            return fromToken(authorization, sourceIp);
        }
        Optional<CertificateNames> certificate = certificateNames(tls);
        if (certificate.isPresent()) {
            return fromCertificate(certificate.get(), sourceIp);
        }
        if (insecureDevPrincipal != null && isLoopback(remote)) {
            return identities.byArn(insecureDevPrincipal)
                    .map(id -> principal(id, false, null, Principal.AuthMethod.INSECURE_DEV, sourceIp))
                    .orElseGet(() -> new Principal(insecureDevPrincipal, Map.of(), List.of(), null, false, null,
                            Principal.AuthMethod.INSECURE_DEV, sourceIp));
        }
        throw unauthenticated("No credentials: present a client certificate or a bearer token.");
    }

    private Principal fromToken(String authorization, String sourceIp) {
        if (tokens == null) {
            throw unauthenticated("Bearer tokens are not enabled on this server.");
        }
        if (!authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
            throw unauthenticated("The authorization header must be 'Bearer <token>'.");
        }
        BearerTokens.Claims claims;
        try {
            claims = tokens.verify(authorization.substring(7).trim());
        } catch (BearerTokens.InvalidTokenException e) {
            throw unauthenticated("The bearer token is not valid.");
        }
        IdentityRegistry.Identity identity = identities.byArn(claims.subject())
                .orElseThrow(() -> unauthenticated("The bearer token names an unknown principal."));
        return principal(identity, claims.mfa(), claims.authTime(), Principal.AuthMethod.TOKEN, sourceIp);
    }

    private Principal fromCertificate(CertificateNames certificate, String sourceIp) {
        Optional<IdentityRegistry.Identity> identity = certificate.spiffeId().flatMap(identities::bySpiffeId);
        if (identity.isEmpty()) {
            identity = identities.bySubject(certificate.subject());
        }
        return identity.map(id -> principal(id, false, null, Principal.AuthMethod.MTLS, sourceIp))
                .orElseThrow(() -> unauthenticated("The client certificate maps to no known principal."));
    }

    private static Principal principal(IdentityRegistry.Identity identity, boolean mfa, java.time.Instant authTime,
                                       Principal.AuthMethod method, String sourceIp) {
        return new Principal(identity.arn(), identity.tags(), identity.groups(), identity.viaService(), mfa, authTime,
                method, sourceIp);
    }

    /** The names in a client certificate that identities are looked up by. */
    private record CertificateNames(Optional<String> spiffeId, String subject) {}

    /**
     * The client certificate's names, read once per TLS session and kept in it: every call on a
     * connection presents the same certificate, and parsing its extensions again for each call was a
     * measurable part of authentication (docs/benchmarks.md). Only what the certificate says is kept;
     * the identity it names is looked up on every call, as before.
     */
    private static Optional<CertificateNames> certificateNames(SSLSession tls) {
        if (tls == null) {
            return Optional.empty();
        }
        if (tls.getValue(CERTIFICATE_NAMES) instanceof CertificateNames names) {
            return Optional.of(names);
        }
        Optional<CertificateNames> names = clientCertificate(tls).map(certificate -> new CertificateNames(
                spiffeId(certificate), certificate.getSubjectX500Principal().getName(X500Principal.RFC2253)));
        names.ifPresent(n -> tls.putValue(CERTIFICATE_NAMES, n));
        return names;
    }

    private static Optional<X509Certificate> clientCertificate(SSLSession tls) {
        if (tls == null) {
            return Optional.empty();
        }
        try {
            Certificate[] chain = tls.getPeerCertificates();
            return chain.length > 0 && chain[0] instanceof X509Certificate x509 ? Optional.of(x509) : Optional.empty();
        } catch (SSLPeerUnverifiedException e) {
            return Optional.empty();
        }
    }

    private static Optional<String> spiffeId(X509Certificate certificate) {
        try {
            Collection<List<?>> names = certificate.getSubjectAlternativeNames();
            if (names == null) {
                return Optional.empty();
            }
            return names.stream()
                    .filter(n -> n.size() == 2 && Integer.valueOf(URI_SAN).equals(n.get(0)))
                    .map(n -> n.get(1).toString())
                    .filter(uri -> uri.startsWith("spiffe://"))
                    .findFirst();
        } catch (CertificateParsingException e) {
            return Optional.empty();
        }
    }

    private static boolean isLoopback(SocketAddress remote) {
        if (remote instanceof InetSocketAddress inet) {
            InetAddress address = inet.getAddress();
            return address != null && address.isLoopbackAddress();
        }
        // In-process transports have no network peer.
        return remote != null && remote.getClass().getName().contains("InProcess");
    }

    private static KmsException unauthenticated(String message) {
        return new KmsException(ErrorReason.UNAUTHENTICATED, message);
    }
}
