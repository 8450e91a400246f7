package io.hsmkms.client.cli;

import java.util.function.Consumer;
import java.util.function.IntConsumer;
import picocli.CommandLine.Option;

/** The --limit/--marker options of every list command. */
final class Paging {
    @Option(names = "--limit", defaultValue = "0", description = "Page size (default: the service's).")
    int limit;
    @Option(names = "--marker", description = "nextMarker of the previous page.")
    String marker;

    void apply(IntConsumer setLimit, Consumer<String> setMarker) {
        setLimit.accept(limit);
        if (marker != null) {
            setMarker.accept(marker);
        }
    }
}
