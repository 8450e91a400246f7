package io.hsmkms.server.store;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * A shared PostgreSQL database for the metadata of several nodes. The password lives in a file
 * (a mounted secret), is read only when the pool opens, and is never part of the URL, a log line or
 * an exception message.
 *
 * @param url          {@code jdbc:postgresql://host:port/database}, without credentials
 * @param user         the database role
 * @param passwordFile file holding the role's password (null: no password, e.g. peer or cert auth)
 * @param maxPoolSize  connections this node may hold at once
 */
public record ExternalDatabase(String url, String user, Path passwordFile, int maxPoolSize) {
    public static final int DEFAULT_MAX_POOL_SIZE = 10;

    public ExternalDatabase {
        if (url == null || !url.startsWith("jdbc:postgresql:")) {
            // H2 in server mode or other databases are not tested, so they are not offered.
            throw new IllegalArgumentException("the database URL must start with jdbc:postgresql:");
        }
        if (url.toLowerCase(Locale.ROOT).contains("password")) {
            throw new IllegalArgumentException("the database URL must not carry a password; use a password file");
        }
        if (user == null || user.isBlank()) {
            throw new IllegalArgumentException("a database user is required with a database URL");
        }
        if (maxPoolSize < 1 || maxPoolSize > 1000) {
            throw new IllegalArgumentException("the database pool size must be 1..1000");
        }
    }

    /** The password from its file without a trailing line break; empty when there is no file. */
    char[] readPassword() {
        if (passwordFile == null) {
            return new char[0];
        }
        try {
            String text = Files.readString(passwordFile, StandardCharsets.UTF_8);
            return text.strip().toCharArray();
        } catch (IOException e) {
            // The path is configuration, not a secret; the content never appears.
            throw new IllegalArgumentException("cannot read the database password file " + passwordFile);
        }
    }
}
