package io.hsmkms.server.testing;

import static org.assertj.core.api.Assertions.assertThat;

import io.hsmkms.hsm.testing.SoftHsmToken;
import io.hsmkms.proto.v1.KeyListEntry;
import io.hsmkms.proto.v1.KeyManagementServiceGrpc;
import io.hsmkms.proto.v1.KeyManagementServiceGrpc.KeyManagementServiceBlockingStub;
import io.hsmkms.proto.v1.ListKeysRequest;
import io.hsmkms.proto.v1.ListKeysResponse;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** What the kill -9 tests look at after a restart: the token seen from outside, and the reconciler's report. */
public final class CrashChecks {
    private static final Pattern LABEL = Pattern.compile("label:\\s+(hsmkms/\\S+)");
    private static final Pattern REPORTED = Pattern.compile("HSM objects with no metadata[^\\[]*\\[([^\\]]*)\\]");
    public static final String MISSING_MATERIAL = "metadata names HSM objects that the token does not have";
    /** What the reconciler logs at the end of every run, after any report. */
    public static final String RECONCILED = "reconciliation done: ";

    private CrashChecks() {}

    /** Labels of the service's secret-key objects, listed by pkcs11-tool from outside the JVM. */
    public static Set<String> tokenLabels(SoftHsmToken token) {
        SoftHsmToken.ToolResult listing = token.pkcs11Tool("--list-objects", "--type", "secrkey");
        assertThat(listing.exitCode()).as(listing.output()).isZero();
        Set<String> labels = new HashSet<>();
        Matcher m = LABEL.matcher(listing.output());
        while (m.find()) {
            labels.add(m.group(1));
        }
        return labels;
    }

    /** The orphans a server's reconciler reported in its log. */
    public static Set<String> reportedOrphans(String log) {
        Set<String> labels = new HashSet<>();
        Matcher m = REPORTED.matcher(log);
        while (m.find()) {
            for (String label : m.group(1).split(",")) {
                if (!label.isBlank()) {
                    labels.add(label.trim());
                }
            }
        }
        return labels;
    }

    /** {@code hsmkms/<key>/<version>} of a label, without a rotation or import suffix. */
    public static String versionOf(String label) {
        String[] parts = label.split("/");
        return parts[0] + "/" + parts[1] + "/" + parts[2];
    }

    public static List<String> allKeys(KeyManagementServiceBlockingStub kms) {
        List<String> ids = new ArrayList<>();
        String marker = "";
        while (true) {
            ListKeysResponse page = kms.listKeys(ListKeysRequest.newBuilder().setLimit(1000).setMarker(marker).build());
            page.getKeysList().stream().map(KeyListEntry::getKeyId).forEach(ids::add);
            if (!page.getTruncated()) {
                return ids;
            }
            marker = page.getNextMarker();
        }
    }

    public static KeyManagementServiceBlockingStub stub(ServerProcess server) {
        return KeyManagementServiceGrpc.newBlockingStub(server.channel()).withDeadlineAfter(30, TimeUnit.SECONDS);
    }
}
