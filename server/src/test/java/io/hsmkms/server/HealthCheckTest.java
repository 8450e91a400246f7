package io.hsmkms.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.hsmkms.server.testing.KmsServerExtension;
import io.hsmkms.server.tools.HealthCheck;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The container health check against a real server on a loopback port, and against nothing. */
class HealthCheckTest {
    @RegisterExtension
    static final KmsServerExtension server = new KmsServerExtension();

    @Test
    void servingServer_isHealthy_evenWhenBoundToEveryAddress() throws Exception {
        assertThat(HealthCheck.check(Map.of(ServerConfig.PORT, Integer.toString(server.server().port())), Duration.ofSeconds(5)))
                .isTrue();
        assertThat(HealthCheck.check(Map.of(ServerConfig.PORT, Integer.toString(server.server().port()),
                ServerConfig.LISTEN_ADDRESS, "0.0.0.0"), Duration.ofSeconds(5))).isTrue();
    }

    @Test
    void nothingListening_isUnhealthy() throws Exception {
        int unused;
        try (ServerSocket socket = new ServerSocket(0)) {
            unused = socket.getLocalPort();
        }

        assertThat(HealthCheck.check(Map.of(ServerConfig.PORT, Integer.toString(unused)), Duration.ofSeconds(2))).isFalse();
    }
}
