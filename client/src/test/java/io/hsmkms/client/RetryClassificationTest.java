package io.hsmkms.client;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Any;
import com.google.rpc.ErrorInfo;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import io.hsmkms.client.errors.Errors;
import io.hsmkms.client.errors.KeyUnavailableException;
import io.hsmkms.client.errors.KmsException;
import io.hsmkms.client.errors.KmsInvalidStateException;
import io.hsmkms.client.errors.LimitExceededException;
import io.hsmkms.client.errors.ThrottlingException;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** What is retried is decided from status code and reason alone; these are the cases a server cannot easily provoke. */
class RetryClassificationTest {
    @Test
    void throttling_isRetryable_butLimitExceededWithTheSameCodeIsNot() {
        KmsException throttled = Errors.fromGrpc("Encrypt", failure(8, "ThrottlingException"));
        KmsException limit = Errors.fromGrpc("CreateGrant", failure(8, "LimitExceededException"));

        assertThat(throttled).isInstanceOf(ThrottlingException.class);
        assertThat(throttled.isRetryable()).isTrue();
        assertThat(limit).isInstanceOf(LimitExceededException.class);
        assertThat(limit.isRetryable()).isFalse();
    }

    @Test
    void keyUnavailable_isTypedButNotRetryable_thoughOtherUnavailableFailuresAre() {
        KmsException keyUnavailable = Errors.fromGrpc("Decrypt", failure(14, "KeyUnavailableException"));
        KmsException hsmDown = Errors.fromGrpc("Decrypt", failure(14, "KMSInternalException"));

        assertThat(keyUnavailable).isInstanceOf(KeyUnavailableException.class);
        assertThat(keyUnavailable.isRetryable()).isFalse();
        assertThat(hsmDown.isRetryable()).isTrue();
    }

    @Test
    void unknownReason_mapsToTheBaseClass_andServerNamesMapToTheirTypes() {
        KmsException unknown = Errors.fromGrpc("Encrypt", failure(9, "SomethingNewException"));
        assertThat(unknown.getClass()).isEqualTo(KmsException.class);
        assertThat(unknown.reason()).isEqualTo("SomethingNewException");
        assertThat(Errors.fromGrpc("Encrypt", failure(9, "KMSInvalidStateException")))
                .isInstanceOf(KmsInvalidStateException.class);
    }

    @Test
    void backoff_isFullJitterUnderAnExponentialCap() {
        RetryPolicy policy = new RetryPolicy(10, Duration.ofMillis(100), Duration.ofMillis(1000));
        for (int i = 0; i < 200; i++) {
            assertThat(policy.backoff(1)).isBetween(Duration.ZERO, Duration.ofMillis(100));
            assertThat(policy.backoff(3)).isBetween(Duration.ZERO, Duration.ofMillis(400));
            assertThat(policy.backoff(60)).isBetween(Duration.ZERO, Duration.ofMillis(1000));
        }
        long distinct = java.util.stream.IntStream.range(0, 50).mapToObj(i -> policy.backoff(4)).distinct().count();
        assertThat(distinct).as("jitter").isGreaterThan(10);
    }

    private static StatusRuntimeException failure(int code, String reason) {
        return StatusProto.toStatusRuntimeException(com.google.rpc.Status.newBuilder().setCode(code).setMessage("m")
                .addDetails(Any.pack(ErrorInfo.newBuilder().setDomain("hsmkms.io").setReason(reason)
                        .putMetadata("requestId", "r-1").build())).build());
    }
}
