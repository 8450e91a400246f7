package io.hsmkms.client.cli;

import com.google.protobuf.Message;
import io.hsmkms.client.KmsClient;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** What every leaf command needs: the client built from the global options, and the chosen output form. */
abstract class KmsCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    Hsmkms root() {
        return (Hsmkms) spec.root().userObject();
    }

    KmsClient kms() {
        return root().client();
    }

    /** Prints a response as JSON or a table; returns the success exit code. */
    int print(Message response) {
        Output.print(spec.commandLine().getOut(), response, root().json());
        return Hsmkms.ExitCodes.OK;
    }

    /** Parses repeated {@code k=v} arguments (encryption contexts, tags), refusing a key given twice. */
    static Map<String, String> pairs(List<String> items, String what) {
        Map<String, String> map = new LinkedHashMap<>();
        if (items == null) {
            return map;
        }
        for (String item : items) {
            int eq = item.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException(what + " must be key=value, not '" + item + "'");
            }
            if (map.put(item.substring(0, eq), item.substring(eq + 1)) != null) {
                throw new IllegalArgumentException(what + " has the key '" + item.substring(0, eq) + "' twice");
            }
        }
        return map;
    }

    /** Enum constants by their API name: "RSAES_OAEP_SHA_256", or with the prefix left off ("AES_256" for DATA_KEY_SPEC_AES_256). */
    static <E extends Enum<E>> E enumValue(Class<E> type, String prefix, String text) {
        String upper = camelToSnake(text);
        for (E constant : type.getEnumConstants()) {
            if (constant.name().equals(upper) || constant.name().equals(prefix + upper)) {
                return constant;
            }
        }
        throw new IllegalArgumentException("unknown value '" + text + "' for " + type.getSimpleName());
    }

    /** "GenerateDataKey" -> "GENERATE_DATA_KEY"; already upper-case text is left as it is. */
    static String camelToSnake(String text) {
        if (text.equals(text.toUpperCase(java.util.Locale.ROOT))) {
            return text;
        }
        return text.replaceAll("([a-z0-9])([A-Z])", "$1_$2").toUpperCase(java.util.Locale.ROOT);
    }

    static CommandLine.ParameterException usage(CommandSpec spec, String message) {
        return new CommandLine.ParameterException(spec.commandLine(), message);
    }
}
