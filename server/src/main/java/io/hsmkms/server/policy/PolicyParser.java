package io.hsmkms.server.policy;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Parses and validates policy documents in the AWS IAM grammar. Strict: unknown elements,
 * duplicate keys, unknown operators and ill-typed values are rejected with a
 * {@link MalformedPolicyException}, so that what is stored is exactly what is evaluated.
 */
public final class PolicyParser {
    public static final int MAX_POLICY_BYTES = 32 * 1024;
    private static final int MAX_DEPTH = 16;
    private static final Set<String> VERSIONS = Set.of("2012-10-17", "2008-10-17");
    private static final Set<String> DOCUMENT_FIELDS = Set.of("Version", "Id", "Statement");
    private static final Set<String> STATEMENT_FIELDS = Set.of("Sid", "Effect", "Principal", "NotPrincipal", "Action",
            "NotAction", "Resource", "NotResource", "Condition");
    private static final Pattern ACTION = Pattern.compile("\\*|kms:[A-Za-z*?]{1,64}", Pattern.CASE_INSENSITIVE);
    private static final Pattern ACCOUNT = Pattern.compile("[0-9]{12}");
    private static final Pattern PRINCIPAL_ARN =
            Pattern.compile("arn:hsmkms:iam::[0-9]{12}:(root|(user|role|group|service)/[A-Za-z0-9+=,.@_/-]{1,512})");
    private static final String FOR_ANY = "foranyvalue:";
    private static final String FOR_ALL = "forallvalues:";
    private static final String IF_EXISTS = "ifexists";

    private static final ObjectMapper JSON = new ObjectMapper(JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder()
                    .maxNestingDepth(MAX_DEPTH)
                    .maxStringLength(MAX_POLICY_BYTES)
                    .maxNumberLength(64)
                    .build())
            .enable(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build());

    /** Key policies name principals; identity policies must not (they belong to one). */
    public enum Kind { KEY_POLICY, IDENTITY_POLICY }

    private PolicyParser() {}

    public static PolicyDocument parse(String json, Kind kind) {
        if (json == null || json.isBlank()) {
            throw new MalformedPolicyException("The policy is empty.");
        }
        if (json.getBytes(StandardCharsets.UTF_8).length > MAX_POLICY_BYTES) {
            throw new MalformedPolicyException("The policy is larger than " + MAX_POLICY_BYTES + " bytes.");
        }
        JsonNode root;
        try (JsonParser parser = JSON.createParser(json)) {
            root = JSON.readTree(parser);
            if (parser.nextToken() != null) {
                throw new MalformedPolicyException("The policy has content after the JSON document.");
            }
        } catch (JsonProcessingException e) {
            throw new MalformedPolicyException("The policy is not valid JSON or is nested too deeply.");
        } catch (java.io.IOException e) {
            throw new MalformedPolicyException("The policy cannot be read.");
        }
        if (root == null || !root.isObject()) {
            throw new MalformedPolicyException("The policy must be a JSON object.");
        }
        onlyFields(root, DOCUMENT_FIELDS, "policy");
        JsonNode version = root.get("Version");
        if (version != null && (!version.isTextual() || !VERSIONS.contains(version.asText()))) {
            throw new MalformedPolicyException("Version must be \"2012-10-17\" or \"2008-10-17\".");
        }
        JsonNode id = root.get("Id");
        if (id != null && !id.isTextual()) {
            throw new MalformedPolicyException("Id must be a string.");
        }
        JsonNode statements = root.get("Statement");
        if (statements == null) {
            throw new MalformedPolicyException("The policy has no Statement.");
        }
        List<Statement> parsed = new ArrayList<>();
        if (statements.isArray()) {
            if (statements.isEmpty()) {
                throw new MalformedPolicyException("Statement must not be empty.");
            }
            for (JsonNode statement : statements) {
                parsed.add(statement(statement, kind));
            }
        } else {
            parsed.add(statement(statements, kind));
        }
        return new PolicyDocument(json, parsed);
    }

    private static Statement statement(JsonNode node, Kind kind) {
        if (!node.isObject()) {
            throw new MalformedPolicyException("Each statement must be a JSON object.");
        }
        onlyFields(node, STATEMENT_FIELDS, "statement");
        JsonNode sid = node.get("Sid");
        if (sid != null && !sid.isTextual()) {
            throw new MalformedPolicyException("Sid must be a string.");
        }
        JsonNode effect = node.get("Effect");
        if (effect == null || !effect.isTextual() || !(effect.asText().equals("Allow") || effect.asText().equals("Deny"))) {
            throw new MalformedPolicyException("Effect must be \"Allow\" or \"Deny\".");
        }
        JsonNode principal = exactlyOneOrNone(node, "Principal", "NotPrincipal");
        if (kind == Kind.KEY_POLICY && principal == null) {
            throw new MalformedPolicyException("Every key policy statement needs a Principal or NotPrincipal.");
        }
        if (kind == Kind.IDENTITY_POLICY && principal != null) {
            throw new MalformedPolicyException("Identity policy statements must not have a Principal.");
        }
        JsonNode action = exactlyOneOrNone(node, "Action", "NotAction");
        if (action == null) {
            throw new MalformedPolicyException("Every statement needs an Action or NotAction.");
        }
        JsonNode resource = exactlyOneOrNone(node, "Resource", "NotResource");
        if (resource == null) {
            throw new MalformedPolicyException("Every statement needs a Resource or NotResource.");
        }
        List<String> actions = strings(action, "Action");
        for (String a : actions) {
            if (!ACTION.matcher(a).matches()) {
                throw new MalformedPolicyException("Actions must be \"*\" or \"kms:<name>\" (wildcards allowed).");
            }
        }
        return new Statement(
                sid == null ? "" : sid.asText(),
                effect.asText().equals("Allow") ? Effect.ALLOW : Effect.DENY,
                principal == null ? null : principals(principal),
                node.has("NotPrincipal"),
                actions,
                node.has("NotAction"),
                strings(resource, "Resource"),
                node.has("NotResource"),
                conditions(node.get("Condition")));
    }

    private static List<String> principals(JsonNode node) {
        if (node.isTextual()) {
            if (!node.asText().equals("*")) {
                throw new MalformedPolicyException("A Principal string must be \"*\"; name principals as {\"AWS\": [...]}.");
            }
            return List.of("*");
        }
        if (!node.isObject()) {
            throw new MalformedPolicyException("Principal must be \"*\" or {\"AWS\": ...}.");
        }
        onlyFields(node, Set.of("AWS"), "Principal");
        JsonNode aws = node.get("AWS");
        if (aws == null) {
            throw new MalformedPolicyException("Principal must name principals under \"AWS\".");
        }
        List<String> principals = new ArrayList<>();
        for (String p : strings(aws, "Principal")) {
            if (p.equals("*")) {
                principals.add(p);
            } else if (ACCOUNT.matcher(p).matches()) {
                principals.add("arn:hsmkms:iam::" + p + ":root");
            } else if (PRINCIPAL_ARN.matcher(p).matches()) {
                principals.add(p);
            } else {
                throw new MalformedPolicyException(
                        "Principals are \"*\", a 12-digit account or arn:hsmkms:iam::<account>:root|user/<name>|role/<name>.");
            }
        }
        return principals;
    }

    private static List<Condition> conditions(JsonNode node) {
        if (node == null) {
            return List.of();
        }
        if (!node.isObject() || node.isEmpty()) {
            throw new MalformedPolicyException("Condition must be a non-empty JSON object.");
        }
        List<Condition> conditions = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> block = it.next();
            String name = block.getKey().trim();
            String lower = name.toLowerCase(Locale.ROOT);
            Condition.Qualifier qualifier = Condition.Qualifier.NONE;
            if (lower.startsWith(FOR_ANY)) {
                qualifier = Condition.Qualifier.FOR_ANY_VALUE;
                name = name.substring(FOR_ANY.length());
            } else if (lower.startsWith(FOR_ALL)) {
                qualifier = Condition.Qualifier.FOR_ALL_VALUES;
                name = name.substring(FOR_ALL.length());
            }
            boolean ifExists = false;
            if (name.toLowerCase(Locale.ROOT).endsWith(IF_EXISTS) && !name.equalsIgnoreCase("Null")) {
                ifExists = true;
                name = name.substring(0, name.length() - IF_EXISTS.length());
            }
            ConditionOperator operator = ConditionOperator.byName(name);
            if (operator == null || (operator == ConditionOperator.NULL && (ifExists || qualifier != Condition.Qualifier.NONE))) {
                throw new MalformedPolicyException("Unknown condition operator.");
            }
            if (!block.getValue().isObject() || block.getValue().isEmpty()) {
                throw new MalformedPolicyException("Each condition operator needs an object of condition keys.");
            }
            for (Iterator<Map.Entry<String, JsonNode>> keys = block.getValue().fields(); keys.hasNext(); ) {
                Map.Entry<String, JsonNode> test = keys.next();
                String key = test.getKey().trim();
                if (key.isEmpty() || key.length() > 256) {
                    throw new MalformedPolicyException("Condition keys are 1..256 characters.");
                }
                List<String> values = strings(test.getValue(), "Condition value");
                values.forEach(operator::validatePolicyValue);
                conditions.add(new Condition(operator, qualifier, ifExists, key, values));
            }
        }
        return conditions;
    }

    /** A string, number or boolean, or a non-empty array of them, as strings. */
    private static List<String> strings(JsonNode node, String element) {
        List<String> out = new ArrayList<>();
        if (node.isArray()) {
            if (node.isEmpty()) {
                throw new MalformedPolicyException(element + " must not be an empty list.");
            }
            for (JsonNode item : node) {
                out.add(scalar(item, element));
            }
        } else {
            out.add(scalar(node, element));
        }
        return out;
    }

    private static String scalar(JsonNode node, String element) {
        if (!(node.isTextual() || node.isNumber() || node.isBoolean()) || node.asText().isEmpty()) {
            throw new MalformedPolicyException(element + " values must be non-empty strings.");
        }
        return node.asText();
    }

    private static JsonNode exactlyOneOrNone(JsonNode node, String positive, String negative) {
        if (node.has(positive) && node.has(negative)) {
            throw new MalformedPolicyException("A statement cannot have both " + positive + " and " + negative + ".");
        }
        return node.has(positive) ? node.get(positive) : node.get(negative);
    }

    private static void onlyFields(JsonNode node, Set<String> allowed, String where) {
        for (Iterator<String> names = node.fieldNames(); names.hasNext(); ) {
            if (!allowed.contains(names.next())) {
                throw new MalformedPolicyException("The " + where + " has an element that is not allowed there.");
            }
        }
    }
}
