package io.hsmkms.server.grpc;

import io.grpc.BindableService;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.hsmkms.server.core.CryptoOperations;
import io.hsmkms.server.core.KeyNames;
import io.hsmkms.server.core.KeyOperations;

/** Builds the KMS service definition with its interceptor chain; the only public door into this package. */
public final class KmsServices {
    private KmsServices() {}

    public static ServerServiceDefinition keyManagement(KeyOperations keys, CryptoOperations crypto, KeyNames names) {
        BindableService service = new KeyManagementGrpcService(keys, crypto, names);
        return ServerInterceptors.intercept(service, new RequestInterceptor());
    }
}
