package io.hsmkms.server.auth;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.hsmkms.server.core.Principal;
import io.hsmkms.server.policy.Decision;
import io.hsmkms.server.policy.AccessRequest;
import io.hsmkms.server.policy.MalformedPolicyException;
import io.hsmkms.server.policy.PolicyDocument;
import io.hsmkms.server.policy.PolicyParser;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The principals the service knows, how their certificates map to them, and the identity policies
 * attached to them and their groups. Loaded from a JSON file (documented in docs/policies.md);
 * the file is the one place identities are administered.
 */
public final class IdentityRegistry {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> ENTRY_FIELDS = Set.of("arn", "spiffeId", "subject", "tags", "groups", "viaService", "policies");

    /** One known principal and how it is recognised. */
    public record Identity(String arn, String spiffeId, String subject, Map<String, String> tags, List<String> groups,
                           String viaService, List<PolicyDocument> policies) {
        public Identity {
            tags = Map.copyOf(tags);
            groups = List.copyOf(groups);
            policies = List.copyOf(policies);
        }
    }

    private final Map<String, Identity> byArn;
    private final Map<String, Identity> bySpiffeId;
    private final Map<String, Identity> bySubject;
    private final Map<String, List<PolicyDocument>> groupPolicies;

    public IdentityRegistry(List<Identity> identities, Map<String, List<PolicyDocument>> groupPolicies) {
        Map<String, Identity> arns = new HashMap<>();
        Map<String, Identity> spiffe = new HashMap<>();
        Map<String, Identity> subjects = new HashMap<>();
        for (Identity identity : identities) {
            if (!Principal.isValidArn(identity.arn())) {
                throw new IllegalArgumentException("identity " + identity.arn() + ": not a principal ARN");
            }
            if (arns.put(identity.arn(), identity) != null) {
                throw new IllegalArgumentException("identity " + identity.arn() + " is listed twice");
            }
            if (identity.spiffeId() != null && spiffe.put(identity.spiffeId(), identity) != null) {
                throw new IllegalArgumentException("SPIFFE id " + identity.spiffeId() + " maps to two identities");
            }
            if (identity.subject() != null && subjects.put(identity.subject(), identity) != null) {
                throw new IllegalArgumentException("subject " + identity.subject() + " maps to two identities");
            }
            for (String group : identity.groups()) {
                if (!groupPolicies.containsKey(group)) {
                    throw new IllegalArgumentException("identity " + identity.arn() + " names unknown group " + group);
                }
            }
        }
        this.byArn = Map.copyOf(arns);
        this.bySpiffeId = Map.copyOf(spiffe);
        this.bySubject = Map.copyOf(subjects);
        this.groupPolicies = Map.copyOf(groupPolicies);
    }

    public static IdentityRegistry empty() {
        return new IdentityRegistry(List.of(), Map.of());
    }

    public Optional<Identity> byArn(String arn) {
        return Optional.ofNullable(byArn.get(arn));
    }

    public Optional<Identity> bySpiffeId(String spiffeId) {
        return Optional.ofNullable(bySpiffeId.get(spiffeId));
    }

    public Optional<Identity> bySubject(String subject) {
        return Optional.ofNullable(bySubject.get(subject));
    }

    /** What the identity policies of the principal and its groups say; NONE for unknown principals. */
    public Decision evaluate(Principal principal, AccessRequest request) {
        Identity identity = byArn.get(principal.arn());
        if (identity == null) {
            return Decision.NONE;
        }
        Decision decision = Decision.NONE;
        for (PolicyDocument policy : identity.policies()) {
            decision = decision.and(policy.evaluate(request));
        }
        for (String group : identity.groups()) {
            for (PolicyDocument policy : groupPolicies.get(group)) {
                decision = decision.and(policy.evaluate(request));
            }
        }
        return decision;
    }

    /**
     * Reads the registry file:
     * <pre>{"identities": [{"arn": ..., "spiffeId"|"subject": ..., "tags": {}, "groups": [], "viaService": ...,
     *   "policies": [policy, ...]}], "groups": {"name": {"policies": [policy, ...]}}}</pre>
     */
    public static IdentityRegistry load(Path file) {
        JsonNode root;
        try {
            root = JSON.readTree(Files.readString(file));
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("identities file " + file + " is not valid JSON");
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read identities file " + file);
        }
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException("identities file " + file + " must hold a JSON object");
        }
        Map<String, List<PolicyDocument>> groups = new HashMap<>();
        JsonNode groupsNode = root.path("groups");
        for (Iterator<Map.Entry<String, JsonNode>> it = groupsNode.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> group = it.next();
            groups.put(group.getKey(), policies(group.getValue().path("policies"), "group " + group.getKey()));
        }
        List<Identity> identities = new ArrayList<>();
        for (JsonNode entry : root.path("identities")) {
            for (Iterator<String> names = entry.fieldNames(); names.hasNext(); ) {
                String name = names.next();
                if (!ENTRY_FIELDS.contains(name)) {
                    throw new IllegalArgumentException("identities file: unknown field " + name);
                }
            }
            String arn = entry.path("arn").asText(null);
            Map<String, String> tags = new HashMap<>();
            entry.path("tags").fields().forEachRemaining(t -> tags.put(t.getKey(), t.getValue().asText()));
            List<String> groupNames = new ArrayList<>();
            entry.path("groups").forEach(g -> groupNames.add(g.asText()));
            identities.add(new Identity(arn, entry.path("spiffeId").asText(null), entry.path("subject").asText(null),
                    tags, groupNames, entry.path("viaService").asText(null), policies(entry.path("policies"), "identity " + arn)));
        }
        return new IdentityRegistry(identities, groups);
    }

    private static List<PolicyDocument> policies(JsonNode node, String owner) {
        List<PolicyDocument> out = new ArrayList<>();
        for (JsonNode policy : node) {
            try {
                out.add(PolicyParser.parse(policy.toString(), PolicyParser.Kind.IDENTITY_POLICY));
            } catch (MalformedPolicyException e) {
                throw new IllegalArgumentException("identities file: a policy of " + owner + " is malformed: " + e.getMessage());
            }
        }
        return out;
    }
}
