package io.hsmkms.server.store;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.Map;
import java.util.TreeMap;

/** Grant constraints as JSON objects in the database (sorted keys, so equal maps store equal text). */
final class GrantCodec {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final TypeReference<Map<String, String>> MAP = new TypeReference<>() {};

    private GrantCodec() {}

    static String toJson(Map<String, String> map) {
        if (map == null) {
            return null;
        }
        try {
            return JSON.writeValueAsString(new TreeMap<>(map));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("grant constraint encoding", e);
        }
    }

    static Map<String, String> fromJson(String json) {
        if (json == null) {
            return null;
        }
        try {
            return JSON.readValue(json, MAP);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("stored grant constraint is not valid JSON", e);
        }
    }
}
