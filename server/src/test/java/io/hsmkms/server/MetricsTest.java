package io.hsmkms.server;

import static io.hsmkms.server.testing.GrpcAssertions.assertFails;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.hsmkms.proto.v1.CreateKeyRequest;
import io.hsmkms.proto.v1.DecryptRequest;
import io.hsmkms.proto.v1.EncryptRequest;
import io.hsmkms.server.testing.KmsServerExtension;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** GET /metrics over HTTP moves as calls are made: requests by outcome, HSM calls, audit writes, keys by state. */
class MetricsTest {
    @RegisterExtension
    static final KmsServerExtension server = new KmsServerExtension();

    @Test
    void callsMoveTheCounters() throws Exception {
        String keyId = server.kms().createKey(CreateKeyRequest.getDefaultInstance()).getKeyMetadata().getKeyId();
        server.server().refreshKeyCounts();
        String before = scrape();

        for (int i = 0; i < 3; i++) {
            server.kms().encrypt(EncryptRequest.newBuilder().setKeyId(keyId).setPlaintext(ByteString.copyFromUtf8("x")).build());
        }
        assertFails(Status.Code.INVALID_ARGUMENT, "InvalidCiphertextException", () -> server.kms().decrypt(
                DecryptRequest.newBuilder().setCiphertextBlob(ByteString.copyFromUtf8("junk")).build()));
        server.kms().createKey(CreateKeyRequest.getDefaultInstance());
        server.server().refreshKeyCounts();
        String after = scrape();

        String allowed = "hsmkms_requests_total{outcome=\"Allowed\",reason=\"-\",rpc=\"Encrypt\"}";
        assertThat(value(after, allowed) - value(before, allowed)).isEqualTo(3);
        String invalid = "hsmkms_requests_total{outcome=\"Invalid\",reason=\"InvalidCiphertextException\",rpc=\"Decrypt\"}";
        assertThat(value(after, invalid)).isEqualTo(1);
        String hsmEncrypts = "hsmkms_hsm_call_seconds_count{operation=\"encrypt\"}";
        assertThat(value(after, hsmEncrypts) - value(before, hsmEncrypts)).isEqualTo(3);
        String auditWrites = "hsmkms_audit_write_seconds_count";
        assertThat(value(after, auditWrites) - value(before, auditWrites)).isGreaterThanOrEqualTo(5);
        String latency = "hsmkms_request_seconds_count{rpc=\"Encrypt\"}";
        assertThat(value(after, latency) - value(before, latency)).isEqualTo(3);
        String enabledKeys = "hsmkms_keys{state=\"ENABLED\"}";
        assertThat(value(after, enabledKeys) - value(before, enabledKeys)).isEqualTo(1);
        assertThat(after).contains("hsmkms_hsm_serving 1.0", "hsmkms_hsm_in_flight");
        String cachedReads = "hsmkms_metadata_key_reads_total{result=\"cached\"}";
        assertThat(value(after, cachedReads) - value(before, cachedReads)).as("3 Encrypts on one key").isGreaterThanOrEqualTo(2);
        assertThat(after).contains("hsmkms_metadata_key_reads_total{result=\"loaded\"}");
    }

    private static double value(String scrape, String series) {
        Matcher m = Pattern.compile("^" + Pattern.quote(series) + " (\\S+)$", Pattern.MULTILINE).matcher(scrape);
        return m.find() ? Double.parseDouble(m.group(1)) : 0;
    }

    private static String scrape() throws Exception {
        HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + server.testServer().metricsPort() + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).isEqualTo(200);
        return response.body();
    }
}
