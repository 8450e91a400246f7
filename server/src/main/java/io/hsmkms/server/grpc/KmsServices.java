package io.hsmkms.server.grpc;

import java.time.Clock;
import java.util.concurrent.Executor;
import io.grpc.BindableService;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.hsmkms.server.auth.Authenticator;
import io.hsmkms.server.audit.AuditTrail;
import io.hsmkms.server.observability.RequestMetrics;
import io.hsmkms.server.core.Aliases;
import io.hsmkms.server.core.CryptoOperations;
import io.hsmkms.server.core.Grants;
import io.hsmkms.server.core.KeyAvailability;
import io.hsmkms.server.core.KeyImports;
import io.hsmkms.server.core.KeyNames;
import io.hsmkms.server.core.KeyOperations;

/** Builds the KMS service definition with its interceptor chain; the only public door into this package. */
public final class KmsServices {
    private KmsServices() {}

    /**
     * The KMS service behind authentication: the request interceptor runs first, then authentication. Both run on
     * the thread the transport calls them on; {@code cryptoHandlers} runs the cryptographic calls' work and
     * {@code handlers} every other unary call's.
     */
    public static ServerServiceDefinition keyManagement(KeyOperations keys, CryptoOperations crypto, Grants grants,
                                                        Aliases aliases, KeyImports imports, KeyAvailability availability,
                                                        KeyNames names, Authenticator authenticator, AuditTrail audit,
                                                        RequestMetrics metrics, Clock clock, Executor cryptoHandlers,
                                                        Executor handlers) {
        BindableService service = new KeyManagementGrpcService(keys, crypto, grants, aliases, imports, availability, names,
                audit, cryptoHandlers, handlers);
        return ServerInterceptors.intercept(service, new AuthInterceptor(authenticator), new RequestInterceptor(audit, metrics, clock));
    }
}
