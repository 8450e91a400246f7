package io.hsmkms.hsm.testing;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A fresh SoftHSM2 token for one test class, deleted afterwards:
 * {@code @RegisterExtension static final SoftHsmTokenExtension token = new SoftHsmTokenExtension();}
 * For tests that start server processes themselves; in-process servers come with their own token.
 */
public final class SoftHsmTokenExtension implements BeforeAllCallback, AfterAllCallback {
    private SoftHsmToken token;

    @Override
    public void beforeAll(ExtensionContext context) {
        token = SoftHsmToken.create();
    }

    @Override
    public void afterAll(ExtensionContext context) {
        if (token != null) {
            token.close();
        }
    }

    public SoftHsmToken get() {
        if (token == null) {
            throw new IllegalStateException("the token exists only while the test class runs");
        }
        return token;
    }
}
