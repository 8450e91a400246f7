package io.hsmkms.server.policy;

import java.math.BigDecimal;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * The IAM condition operators. Each compares one request value with one policy value; negated
 * operators ({@code ...Not...}) are stored as their positive test plus {@link #negated()}.
 */
public enum ConditionOperator {
    STRING_EQUALS("StringEquals", Type.STRING, false),
    STRING_NOT_EQUALS("StringNotEquals", Type.STRING, true),
    STRING_EQUALS_IGNORE_CASE("StringEqualsIgnoreCase", Type.STRING_IGNORE_CASE, false),
    STRING_NOT_EQUALS_IGNORE_CASE("StringNotEqualsIgnoreCase", Type.STRING_IGNORE_CASE, true),
    STRING_LIKE("StringLike", Type.GLOB, false),
    STRING_NOT_LIKE("StringNotLike", Type.GLOB, true),
    NUMERIC_EQUALS("NumericEquals", Type.NUMBER_EQ, false),
    NUMERIC_NOT_EQUALS("NumericNotEquals", Type.NUMBER_EQ, true),
    NUMERIC_LESS_THAN("NumericLessThan", Type.NUMBER_LT, false),
    NUMERIC_LESS_THAN_EQUALS("NumericLessThanEquals", Type.NUMBER_LE, false),
    NUMERIC_GREATER_THAN("NumericGreaterThan", Type.NUMBER_GT, false),
    NUMERIC_GREATER_THAN_EQUALS("NumericGreaterThanEquals", Type.NUMBER_GE, false),
    DATE_EQUALS("DateEquals", Type.DATE_EQ, false),
    DATE_NOT_EQUALS("DateNotEquals", Type.DATE_EQ, true),
    DATE_LESS_THAN("DateLessThan", Type.DATE_LT, false),
    DATE_LESS_THAN_EQUALS("DateLessThanEquals", Type.DATE_LE, false),
    DATE_GREATER_THAN("DateGreaterThan", Type.DATE_GT, false),
    DATE_GREATER_THAN_EQUALS("DateGreaterThanEquals", Type.DATE_GE, false),
    BOOL("Bool", Type.BOOL, false),
    IP_ADDRESS("IpAddress", Type.IP, false),
    NOT_IP_ADDRESS("NotIpAddress", Type.IP, true),
    ARN_EQUALS("ArnEquals", Type.GLOB, false),
    ARN_LIKE("ArnLike", Type.GLOB, false),
    ARN_NOT_EQUALS("ArnNotEquals", Type.GLOB, true),
    ARN_NOT_LIKE("ArnNotLike", Type.GLOB, true),
    NULL("Null", Type.BOOL, false);

    private enum Type { STRING, STRING_IGNORE_CASE, GLOB, NUMBER_EQ, NUMBER_LT, NUMBER_LE, NUMBER_GT, NUMBER_GE,
        DATE_EQ, DATE_LT, DATE_LE, DATE_GT, DATE_GE, BOOL, IP }

    private static final Map<String, ConditionOperator> BY_NAME = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
    private static final Pattern EPOCH_SECONDS = Pattern.compile("-?[0-9]{1,12}");

    static {
        for (ConditionOperator op : values()) {
            BY_NAME.put(op.policyName, op);
        }
    }

    private final String policyName;
    private final Type type;
    private final boolean negated;

    ConditionOperator(String policyName, Type type, boolean negated) {
        this.policyName = policyName;
        this.type = type;
        this.negated = negated;
    }

    /** The operator named in a policy, without qualifier or IfExists; null if unknown. */
    static ConditionOperator byName(String name) {
        return BY_NAME.get(name);
    }

    public String policyName() {
        return policyName;
    }

    public boolean negated() {
        return negated;
    }

    /** Rejects a policy value this operator could never compare (checked once, at parse time). */
    void validatePolicyValue(String value) {
        boolean ok = switch (type) {
            case STRING, STRING_IGNORE_CASE, GLOB -> true;
            case NUMBER_EQ, NUMBER_LT, NUMBER_LE, NUMBER_GT, NUMBER_GE -> number(value) != null;
            case DATE_EQ, DATE_LT, DATE_LE, DATE_GT, DATE_GE -> date(value) != null;
            case BOOL -> value.equalsIgnoreCase("true") || value.equalsIgnoreCase("false");
            case IP -> Cidr.parse(value) != null;
        };
        if (!ok) {
            throw new MalformedPolicyException("A value of condition operator " + policyName + " has the wrong type.");
        }
    }

    /** The positive test: does the request value match the policy value? */
    boolean test(String requestValue, String policyValue) {
        return switch (type) {
            case STRING -> requestValue.equals(policyValue);
            case STRING_IGNORE_CASE -> requestValue.equalsIgnoreCase(policyValue);
            case GLOB -> Wildcards.matches(policyValue, requestValue, false);
            case NUMBER_EQ, NUMBER_LT, NUMBER_LE, NUMBER_GT, NUMBER_GE -> compareNumbers(requestValue, policyValue);
            case DATE_EQ, DATE_LT, DATE_LE, DATE_GT, DATE_GE -> compareDates(requestValue, policyValue);
            case BOOL -> requestValue.equalsIgnoreCase(policyValue);
            case IP -> ipMatches(requestValue, policyValue);
        };
    }

    private boolean compareNumbers(String requestValue, String policyValue) {
        BigDecimal request = number(requestValue);
        BigDecimal policy = number(policyValue);
        return request != null && ordered(request.compareTo(policy));
    }

    private boolean compareDates(String requestValue, String policyValue) {
        Instant request = date(requestValue);
        Instant policy = date(policyValue);
        return request != null && ordered(request.compareTo(policy));
    }

    private boolean ordered(int comparison) {
        return switch (type) {
            case NUMBER_EQ, DATE_EQ -> comparison == 0;
            case NUMBER_LT, DATE_LT -> comparison < 0;
            case NUMBER_LE, DATE_LE -> comparison <= 0;
            case NUMBER_GT, DATE_GT -> comparison > 0;
            case NUMBER_GE, DATE_GE -> comparison >= 0;
            default -> throw new IllegalStateException(name());
        };
    }

    private static boolean ipMatches(String requestValue, String policyValue) {
        Cidr range = Cidr.parse(policyValue);
        Cidr address = Cidr.parse(requestValue);
        return range != null && address != null && range.contains(address);
    }

    private static BigDecimal number(String value) {
        if (value.length() > 64) {
            return null;
        }
        try {
            return new BigDecimal(value.trim());
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /** ISO 8601 with an offset, a date alone (midnight UTC), or epoch seconds, as IAM accepts. */
    static Instant date(String value) {
        String v = value.trim();
        if (EPOCH_SECONDS.matcher(v).matches()) {
            return Instant.ofEpochSecond(Long.parseLong(v));
        }
        try {
            return OffsetDateTime.parse(v).toInstant();
        } catch (DateTimeParseException e) {
            try {
                return java.time.LocalDate.parse(v).atStartOfDay(java.time.ZoneOffset.UTC).toInstant();
            } catch (DateTimeParseException e2) {
                return null;
            }
        }
    }

    /** An IPv4 or IPv6 address with an optional prefix length. Literal addresses only: no DNS. */
    record Cidr(byte[] address, int prefix) {
        // Only strings InetAddress parses as literals: anything else would make it ask DNS.
        private static final Pattern LITERAL =
                Pattern.compile("[0-9]{1,3}(\\.[0-9]{1,3}){3}|[0-9a-fA-F.]{0,40}:[0-9a-fA-F:.]{1,40}");

        static Cidr parse(String text) {
            String t = text.trim();
            int slash = t.indexOf('/');
            String host = slash < 0 ? t : t.substring(0, slash);
            if (!LITERAL.matcher(host).matches()) {
                return null;
            }
            try {
                byte[] bytes = InetAddress.getByName(host).getAddress();
                int prefix = bytes.length * 8;
                if (slash >= 0) {
                    prefix = Integer.parseInt(t.substring(slash + 1));
                    if (prefix < 0 || prefix > bytes.length * 8) {
                        return null;
                    }
                }
                return new Cidr(bytes, prefix);
            } catch (UnknownHostException | NumberFormatException e) {
                return null;
            }
        }

        boolean contains(Cidr other) {
            if (other.address.length != address.length) {
                return false;
            }
            for (int bit = 0; bit < prefix; bit++) {
                int mask = 0x80 >>> (bit % 8);
                if ((address[bit / 8] & mask) != (other.address[bit / 8] & mask)) {
                    return false;
                }
            }
            return true;
        }

        @Override
        public String toString() {
            return "Cidr/" + prefix;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Cidr c && java.util.Arrays.equals(address, c.address) && prefix == c.prefix;
        }

        @Override
        public int hashCode() {
            return java.util.Arrays.hashCode(address) * 31 + prefix;
        }
    }

    @Override
    public String toString() {
        return policyName.toLowerCase(Locale.ROOT);
    }
}
