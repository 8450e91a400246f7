package io.hsmkms.bench;

import java.io.IOException;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The heap a JVM has in use, read from its HotSpot performance counters: the hsperfdata file every JVM
 * keeps memory-mapped in /tmp (what jstat reads). Sampling it costs the sampled JVM nothing, unlike
 * scraping its /metrics twice a second, which put the Prometheus exposition and the CPU gauges into
 * the server's own CPU per call (about 5 % of its Java samples at 6,000 calls/s; docs/benchmarks.md).
 * The used counters of G1's spaces move when a region fills (1 MiB at a 256 MiB heap), which is
 * fine for a peak.
 */
final class HeapCounters {
    private static final int MAGIC = 0xcafec0c0;
    private static final Pattern SPACE_USED = Pattern.compile("sun\\.gc\\.generation\\.\\d+\\.space\\.\\d+\\.used");

    private final MappedByteBuffer counters;
    private final List<Integer> usedOffsets;

    private HeapCounters(MappedByteBuffer counters, List<Integer> usedOffsets) {
        this.counters = counters;
        this.usedOffsets = usedOffsets;
    }

    /** The counters of process {@code pid}, or empty if it keeps none (-XX:-UsePerfData) or they are not readable. */
    static Optional<HeapCounters> of(long pid) {
        Path file = Path.of("/tmp", "hsperfdata_" + System.getProperty("user.name"), Long.toString(pid));
        if (!Files.isReadable(file)) {
            return Optional.empty();
        }
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            MappedByteBuffer map = channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size());
            if (map.order(ByteOrder.BIG_ENDIAN).getInt(0) != MAGIC) {
                return Optional.empty();
            }
            map.order(map.get(4) == 0 ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN);
            int entry = map.getInt(24);
            int entries = map.getInt(28);
            List<Integer> used = new ArrayList<>();
            for (int i = 0; i < entries; i++) {
                int length = map.getInt(entry);
                int nameOffset = map.getInt(entry + 4);
                int vectorLength = map.getInt(entry + 8);
                byte type = map.get(entry + 12);
                int dataOffset = map.getInt(entry + 16);
                if (vectorLength == 0 && type == 'J' && SPACE_USED.matcher(name(map, entry + nameOffset)).matches()) {
                    used.add(entry + dataOffset);
                }
                entry += length;
            }
            return used.isEmpty() ? Optional.empty() : Optional.of(new HeapCounters(map, used));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    long usedBytes() {
        long sum = 0;
        for (int offset : usedOffsets) {
            sum += counters.getLong(offset);
        }
        return sum;
    }

    private static String name(MappedByteBuffer map, int at) {
        int end = at;
        while (map.get(end) != 0) {
            end++;
        }
        byte[] bytes = new byte[end - at];
        map.get(at, bytes);
        return new String(bytes, StandardCharsets.US_ASCII);
    }
}
