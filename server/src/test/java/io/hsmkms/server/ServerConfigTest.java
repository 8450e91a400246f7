package io.hsmkms.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.hsmkms.hsm.pkcs11.Pkcs11Config;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ServerConfigTest {

    @Test
    void defaults_bindLoopbackOnPort7700() {
        ServerConfig config = ServerConfig.fromSettings(Map.of(Pkcs11Config.PIN, "1234"));

        assertThat(config.listenAddress()).isEqualTo("127.0.0.1");
        assertThat(config.port()).isEqualTo(7700);
        assertThat(config.dataDir()).isEqualTo(Path.of("data").toAbsolutePath());
        assertThat(config.tls()).isNull();
        assertThat(config.tokenKeyFile()).isNull();
        assertThat(config.insecureDevPrincipal()).isNull();
        assertThat(config.pkcs11().slotListIndex()).isZero();
    }

    @Test
    void configFile_isOverriddenByEnvironment(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("hsmkms.properties");
        Files.writeString(file, "HSMKMS_PORT=9000\nHSMKMS_REGION=eu-1\nHSMKMS_PIN_FILE=" + dir.resolve("pin") + "\n");

        ServerConfig config = ServerConfig.fromEnvironment(Map.of(ServerConfig.CONFIG_FILE, file.toString(),
                ServerConfig.PORT, "9100"));

        assertThat(config.port()).isEqualTo(9100);
        assertThat(config.region()).isEqualTo("eu-1");
        assertThat(config.pkcs11().pin()).isEqualTo(new Pkcs11Config.PinSource.FromFile(dir.resolve("pin")));
    }

    @Test
    void tls_needsCertificateAndKeyTogether() {
        assertThatThrownBy(() -> ServerConfig.fromSettings(Map.of(Pkcs11Config.PIN, "1", ServerConfig.TLS_CERT_FILE, "/c.pem")))
                .hasMessageContaining(ServerConfig.TLS_KEY_FILE);
        assertThatThrownBy(() -> ServerConfig.fromSettings(Map.of(Pkcs11Config.PIN, "1", ServerConfig.TLS_CLIENT_CA_FILE, "/ca.pem")))
                .hasMessageContaining(ServerConfig.TLS_CERT_FILE);
        ServerConfig config = ServerConfig.fromSettings(Map.of(Pkcs11Config.PIN, "1", ServerConfig.TLS_CERT_FILE, "/c.pem",
                ServerConfig.TLS_KEY_FILE, "/k.pem", ServerConfig.TLS_CLIENT_CA_FILE, "/ca.pem"));
        assertThat(config.tls()).isEqualTo(new ServerConfig.Tls(Path.of("/c.pem"), Path.of("/k.pem"), Path.of("/ca.pem")));
    }

    @Test
    void badPort_orMissingPin_failWithTheSettingsName() {
        assertThatThrownBy(() -> ServerConfig.fromSettings(Map.of(Pkcs11Config.PIN, "1", ServerConfig.PORT, "http")))
                .hasMessageContaining(ServerConfig.PORT);
        assertThatThrownBy(() -> ServerConfig.fromSettings(Map.of(Pkcs11Config.PIN, "1", ServerConfig.PORT, "70000")))
                .hasMessageContaining(ServerConfig.PORT);
        assertThatThrownBy(() -> ServerConfig.fromSettings(Map.of())).hasMessageContaining(Pkcs11Config.PIN_FILE);
    }

    @Test
    void cryptoThreads_defaultToOnePerCore_andMustBeAPositiveNumber() {
        assertThat(ServerConfig.fromSettings(Map.of(Pkcs11Config.PIN, "1")).cryptoThreads())
                .isEqualTo(Runtime.getRuntime().availableProcessors());
        assertThat(ServerConfig.fromSettings(Map.of(Pkcs11Config.PIN, "1", ServerConfig.CRYPTO_THREADS, " 32 ")).cryptoThreads())
                .isEqualTo(32);
        for (String bad : new String[] {"0", "-1", "many", "5000"}) {
            assertThatThrownBy(() -> ServerConfig.fromSettings(Map.of(Pkcs11Config.PIN, "1", ServerConfig.CRYPTO_THREADS, bad)))
                    .hasMessageContaining(ServerConfig.CRYPTO_THREADS);
        }
    }

    @Test
    void database_defaultsToEmbedded_andPostgresNeedsUrlAndUser_passwordOnlyFromAFile() {
        assertThat(ServerConfig.fromSettings(Map.of(Pkcs11Config.PIN, "1")).embeddedDatabase()).isTrue();

        ServerConfig config = ServerConfig.fromSettings(Map.of(Pkcs11Config.PIN, "1",
                ServerConfig.DATABASE_URL, "jdbc:postgresql://db:5432/hsmkms", ServerConfig.DATABASE_USER, "kms",
                ServerConfig.DATABASE_PASSWORD_FILE, "/run/secrets/db", ServerConfig.DATABASE_POOL_SIZE, "20"));

        assertThat(config.embeddedDatabase()).isFalse();
        assertThat(config.database()).isEqualTo(new io.hsmkms.server.store.ExternalDatabase(
                "jdbc:postgresql://db:5432/hsmkms", "kms", Path.of("/run/secrets/db"), 20));
        assertThatThrownBy(() -> ServerConfig.fromSettings(Map.of(Pkcs11Config.PIN, "1",
                ServerConfig.DATABASE_URL, "jdbc:postgresql://db/hsmkms")))
                .hasMessageContaining(ServerConfig.DATABASE_USER);
        assertThatThrownBy(() -> ServerConfig.fromSettings(Map.of(Pkcs11Config.PIN, "1",
                ServerConfig.DATABASE_URL, "jdbc:h2:tcp://db/hsmkms", ServerConfig.DATABASE_USER, "kms")))
                .hasMessageContaining("jdbc:postgresql:");
        assertThatThrownBy(() -> ServerConfig.fromSettings(Map.of(Pkcs11Config.PIN, "1",
                ServerConfig.DATABASE_URL, "jdbc:postgresql://db/hsmkms?password=hunter2", ServerConfig.DATABASE_USER, "kms")))
                .hasMessageContaining("password file").hasMessageNotContaining("hunter2");
        assertThatThrownBy(() -> ServerConfig.fromSettings(Map.of(Pkcs11Config.PIN, "1",
                "HSMKMS_DATABASE_PASSWORD", "hunter2"))).hasMessageContaining(ServerConfig.DATABASE_PASSWORD_FILE)
                .hasMessageNotContaining("hunter2");
        assertThatThrownBy(() -> ServerConfig.fromSettings(Map.of(Pkcs11Config.PIN, "1",
                ServerConfig.DATABASE_USER, "kms"))).hasMessageContaining(ServerConfig.DATABASE_URL);
    }
}
