package io.hsmkms.client.cli;

import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors.EnumValueDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MapEntry;
import com.google.protobuf.Message;
import com.google.protobuf.Timestamp;
import com.google.protobuf.util.JsonFormat;
import java.io.PrintWriter;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Responses as JSON (the API's canonical proto JSON, so scripts get stable names) or as a table for
 * people: a list response becomes one row per item, anything else one line per field.
 */
final class Output {
    private Output() {}

    static void print(PrintWriter out, Message message, boolean json) {
        if (json) {
            try {
                out.println(JsonFormat.printer().print(message));
            } catch (InvalidProtocolBufferException e) {
                throw new IllegalStateException("every API message prints as JSON", e);
            }
        } else {
            FieldDescriptor list = listField(message);
            if (list == null) {
                printFields(out, message);
            } else {
                printTable(out, message, list);
            }
        }
        out.flush();
    }

    /** The one repeated message field of a list response (keys, aliases, grants...), else null. */
    private static FieldDescriptor listField(Message message) {
        FieldDescriptor found = null;
        for (FieldDescriptor field : message.getDescriptorForType().getFields()) {
            if (field.isRepeated() && !field.isMapField() && field.getJavaType() == FieldDescriptor.JavaType.MESSAGE) {
                if (found != null) {
                    return null;
                }
                found = field;
            }
        }
        return found;
    }

    private static void printFields(PrintWriter out, Message message) {
        List<String[]> rows = new ArrayList<>();
        collect(message, "", rows);
        int width = rows.stream().mapToInt(r -> r[0].length()).max().orElse(0);
        for (String[] row : rows) {
            out.println(String.format("%-" + width + "s  %s", row[0], row[1]));
        }
    }

    /** Set fields as (name, value); nested messages other than timestamps are flattened with a dotted prefix. */
    private static void collect(Message message, String prefix, List<String[]> rows) {
        for (Map.Entry<FieldDescriptor, Object> e : message.getAllFields().entrySet()) {
            FieldDescriptor field = e.getKey();
            if (!field.isRepeated() && field.getJavaType() == FieldDescriptor.JavaType.MESSAGE
                    && !(e.getValue() instanceof Timestamp)) {
                collect((Message) e.getValue(), prefix + field.getJsonName() + ".", rows);
            } else {
                rows.add(new String[] {prefix + field.getJsonName(), value(field, e.getValue())});
            }
        }
    }

    private static void printTable(PrintWriter out, Message message, FieldDescriptor listField) {
        @SuppressWarnings("unchecked")
        List<Message> items = (List<Message>) message.getField(listField);
        Set<String> columns = new LinkedHashSet<>();
        List<java.util.Map<String, String>> rows = new ArrayList<>();
        for (Message item : items) {
            List<String[]> cells = new ArrayList<>();
            collect(item, "", cells);
            java.util.Map<String, String> row = new java.util.LinkedHashMap<>();
            for (String[] cell : cells) {
                columns.add(cell[0]);
                row.put(cell[0], cell[1]);
            }
            rows.add(row);
        }
        if (!columns.isEmpty()) {
            List<String> names = new ArrayList<>(columns);
            int[] widths = names.stream().mapToInt(n -> Math.max(n.length(),
                    rows.stream().mapToInt(r -> r.getOrDefault(n, "").length()).max().orElse(0))).toArray();
            out.println(line(names, widths));
            for (java.util.Map<String, String> row : rows) {
                out.println(line(names.stream().map(n -> row.getOrDefault(n, "")).toList(), widths));
            }
        }
        // Paging fields (nextMarker, truncated) after the table.
        for (Map.Entry<FieldDescriptor, Object> e : message.getAllFields().entrySet()) {
            if (!e.getKey().equals(listField)) {
                out.println(e.getKey().getJsonName() + ": " + value(e.getKey(), e.getValue()));
            }
        }
    }

    private static String line(List<String> cells, int[] widths) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < cells.size(); i++) {
            b.append(i == cells.size() - 1 ? cells.get(i) : String.format("%-" + widths[i] + "s  ", cells.get(i)));
        }
        return b.toString().stripTrailing();
    }

    private static String value(FieldDescriptor field, Object value) {
        if (field.isMapField()) {
            return ((List<?>) value).stream().map(entry -> {
                MapEntry<?, ?> pair = (MapEntry<?, ?>) entry;
                return pair.getKey() + "=" + pair.getValue();
            }).sorted().collect(Collectors.joining(","));
        }
        if (field.isRepeated()) {
            return ((List<?>) value).stream().map(Output::scalar).collect(Collectors.joining(","));
        }
        return scalar(value);
    }

    private static String scalar(Object value) {
        if (value instanceof ByteString bytes) {
            return Base64.getEncoder().encodeToString(bytes.toByteArray());
        }
        if (value instanceof EnumValueDescriptor e) {
            return e.getName();
        }
        if (value instanceof Timestamp t) {
            return Instant.ofEpochSecond(t.getSeconds(), t.getNanos()).toString();
        }
        if (value instanceof Message m) {
            List<String[]> cells = new ArrayList<>();
            collect(m, "", cells);
            return cells.stream().map(c -> c[0] + "=" + c[1]).collect(Collectors.joining(" "));
        }
        return String.valueOf(value);
    }
}
