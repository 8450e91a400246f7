package io.hsmkms.bench.jmh;

import io.hsmkms.server.policy.AccessRequest;
import io.hsmkms.server.policy.ConditionContext;
import io.hsmkms.server.policy.Decision;
import io.hsmkms.server.policy.PolicyDocument;
import io.hsmkms.server.policy.PolicyParser;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * One key policy evaluation for an Encrypt with an encryption context: the default-sized policy
 * (1 statement) against one near the 32 KB limit whose statements all carry conditions and only the
 * last one allows (the worst case: every statement is examined).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class PolicyEvaluationBenchmark {
    private static final String ACCOUNT = "111122223333";
    private static final String KEY = "arn:hsmkms:kms:local:" + ACCOUNT + ":key/0f8a2c57-3c0e-4b8e-9a61-4a8f0d7a3a21";
    private static final String APP = "arn:hsmkms:iam::" + ACCOUNT + ":role/orders-app";

    @Param({"1-statement", "32KB"})
    public String policy;

    private PolicyDocument document;
    private AccessRequest request;

    @Setup
    public void setUp() {
        String allow = "{\"Sid\":\"Use\",\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"" + APP + "\"},"
                + "\"Action\":[\"kms:Encrypt\",\"kms:Decrypt\"],\"Resource\":\"*\","
                + "\"Condition\":{\"StringEquals\":{\"kms:EncryptionContext:service\":\"orders\"}}}";
        StringBuilder json = new StringBuilder("{\"Version\":\"2012-10-17\",\"Statement\":[");
        if (policy.equals("32KB")) {
            for (int i = 0; json.length() < 31_000; i++) {
                json.append("{\"Sid\":\"Other").append(i).append("\",\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"arn:hsmkms:iam::")
                        .append(ACCOUNT).append(":role/team-").append(i).append("\"},\"Action\":\"kms:Decrypt\",\"Resource\":\"*\",")
                        .append("\"Condition\":{\"StringLike\":{\"kms:EncryptionContext:tenant\":\"t-").append(i).append("-*\"}}},");
            }
        }
        json.append(allow).append("]}");
        document = PolicyParser.parse(json.toString(), PolicyParser.Kind.KEY_POLICY);
        ConditionContext context = ConditionContext.builder()
                .put("aws:PrincipalArn", APP).put("aws:PrincipalAccount", ACCOUNT).put("kms:CallerAccount", ACCOUNT)
                .put("kms:EncryptionContext:service", "orders").put("kms:EncryptionContext:tenant", "acme-corp")
                .put("kms:EncryptionAlgorithm", "SYMMETRIC_DEFAULT").build();
        request = new AccessRequest(APP, "kms:Encrypt", KEY, context);
        if (document.evaluate(request) != Decision.ALLOW) {
            throw new IllegalStateException("the benchmark policy must allow the request");
        }
    }

    @Benchmark
    public Decision evaluate() {
        return document.evaluate(request);
    }
}
