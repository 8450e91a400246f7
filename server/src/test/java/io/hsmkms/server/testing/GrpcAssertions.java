package io.hsmkms.server.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;

/** Assertions on the contract clients rely on: status code and ErrorInfo reason, not message text. */
public final class GrpcAssertions {
    private GrpcAssertions() {}

    public static StatusRuntimeException assertFails(Status.Code code, String reason, ThrowingCallable call) {
        StatusRuntimeException e = catchThrowableOfType(StatusRuntimeException.class, call);
        assertThat(e).as("expected %s / %s", code, reason).isNotNull();
        assertThat(e.getStatus().getCode()).as("status of: %s", e.getStatus()).isEqualTo(code);
        assertThat(KmsTestServer.reason(e)).as("reason of: %s", e.getStatus()).isEqualTo(reason);
        return e;
    }
}
