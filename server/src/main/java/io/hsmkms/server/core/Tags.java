package io.hsmkms.server.core;

import java.util.ArrayList;
import java.util.Map;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import io.hsmkms.server.policy.ConditionContext;

/** Tag rules (as AWS KMS): at most 50 per key, keys 1..128 and values 0..256 characters, no "aws:" keys. */
public final class Tags {
    public static final int MAX_TAGS = 50;
    private static final Pattern CHARACTERS = Pattern.compile("[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*");

    private Tags() {}

    public static void validate(Map<String, String> tags) {
        for (Map.Entry<String, String> tag : tags.entrySet()) {
            String key = tag.getKey();
            String value = tag.getValue();
            if (key.isEmpty() || key.length() > 128 || value.length() > 256
                    || !CHARACTERS.matcher(key).matches() || !CHARACTERS.matcher(value).matches()) {
                throw new KmsException(ErrorReason.TAG, "Tag keys are 1..128 and values 0..256 letters, digits, spaces "
                        + "or _.:/=+-@.");
            }
            if (key.regionMatches(true, 0, "aws:", 0, 4)) {
                throw new KmsException(ErrorReason.TAG, "Tag keys starting with aws: are reserved.");
            }
        }
    }

    public static void requireWithinLimit(Map<String, String> tags) {
        if (tags.size() > MAX_TAGS) {
            throw new KmsException(ErrorReason.TAG, "A key has at most " + MAX_TAGS + " tags.");
        }
    }

    /** aws:RequestTag/k and aws:TagKeys for requests that set tags. */
    static Consumer<ConditionContext.Builder> requestTags(Map<String, String> tags) {
        return c -> {
            tags.forEach((k, v) -> c.put("aws:RequestTag/" + k, v));
            c.putAll("aws:TagKeys", new ArrayList<>(tags.keySet()));
        };
    }
}
