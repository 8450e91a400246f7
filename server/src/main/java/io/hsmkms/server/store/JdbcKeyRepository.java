package io.hsmkms.server.store;

import io.hsmkms.server.core.Alias;
import io.hsmkms.server.core.Grant;
import io.hsmkms.server.core.GrantOperation;
import io.hsmkms.server.core.KeyOrigin;
import io.hsmkms.server.core.KeySpec;
import io.hsmkms.server.core.KeyState;
import io.hsmkms.server.core.KeyUsage;
import io.hsmkms.server.core.KeyVersion;
import io.hsmkms.server.core.ManagedKey;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.UUID;
import javax.sql.DataSource;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import org.flywaydb.core.Flyway;
import org.h2.jdbcx.JdbcConnectionPool;

/**
 * Key metadata, grants and aliases in a relational database through plain JDBC. Schema changes are Flyway migrations
 * ({@code db/migration}), applied on open. The embedded default is an H2 file database; several nodes share a
 * PostgreSQL database ({@link #postgres}). The SQL is the portable subset both understand, so one class and one set
 * of migrations serve both, and one test suite checks both.
 *
 * <p>Concurrency: every method is one transaction at the database's default isolation (READ COMMITTED on
 * PostgreSQL). Key updates are optimistic: {@code UPDATE ... WHERE revision = ?} matches no row once another
 * writer has committed (PostgreSQL re-checks the condition on the newest row version after waiting for the row
 * lock), so of two writers holding the same revision exactly one wins and the other gets
 * {@link ConcurrentUpdateException}. Counted inserts (grants) lock the key row first.
 */
public final class JdbcKeyRepository implements MetadataStore {
    private static final String KEY_COLUMNS =
            "id, account_id, created_at, description, state, key_spec, key_usage, origin, policy, deletion_date, "
            + "rotation_enabled, rotation_period_days, next_rotation_date, on_demand_rotations, import_kcv, import_valid_to, "
            + "import_generation, import_material_present, revision";

    /** SQLSTATE of a unique or primary key violation, the same on H2 and PostgreSQL (SQL standard class 23). */
    private static final String UNIQUE_VIOLATION = "23505";

    private final DataSource dataSource;
    private final AutoCloseable closer;
    /** Whether other processes (nodes) use the database too. */
    private final boolean shared;

    private JdbcKeyRepository(DataSource dataSource, AutoCloseable closer, boolean shared) {
        this.dataSource = dataSource;
        this.shared = shared;
        this.closer = closer;
        Flyway.configure().dataSource(dataSource).load().migrate();
    }

    /** An H2 database in {@code <dataDir>/metadata}, created on first use. */
    public static JdbcKeyRepository embedded(Path dataDir) {
        String url = embeddedUrl(dataDir);
        // While this is the only connection, before the pool opens. WRITE_DELAY=0 also turns off H2's own
        // background compaction, which is why the file can be mostly free space (EmbeddedStoreCompaction).
        EmbeddedStoreCompaction.compactIfSparse(dataDir, EmbeddedStoreCompaction.MIN_BYTES,
                EmbeddedStoreCompaction.BELOW_FILL_PERCENT);
        JdbcConnectionPool pool = JdbcConnectionPool.create(url, EMBEDDED_USER, "");
        pool.setMaxConnections(32);
        return new JdbcKeyRepository(pool, pool::dispose, false);
    }

    static final String EMBEDDED_USER = "hsmkms";

    /** The embedded database's JDBC URL under {@code dataDir}. */
    static String embeddedUrl(Path dataDir) {
        Path file = embeddedBase(dataDir);
        if (file.toString().contains(";")) {
            // H2 would read whatever follows a ';' in the URL as settings.
            throw new IllegalArgumentException("the data directory path must not contain ';'");
        }
        // DB_CLOSE_ON_EXIT=FALSE: the server's shutdown hook closes the pool; H2 must not race it.
        // WRITE_DELAY=0: H2 has no redo log and by default writes commits to the file up to 500 ms
        // later, so a kill -9 would lose keys whose CreateKey was already answered (and the
        // reconciler would then destroy their material as orphans). With 0, every commit is in the
        // file (the OS's page cache) before the call returns; power-loss durability needs PostgreSQL.
        return "jdbc:h2:file:" + file + ";DB_CLOSE_ON_EXIT=FALSE;WRITE_DELAY=0";
    }

    /** The embedded database's file under {@code dataDir}. */
    static Path embeddedFile(Path dataDir) {
        return Path.of(embeddedBase(dataDir) + ".mv.db");
    }

    private static Path embeddedBase(Path dataDir) {
        return dataDir.resolve("metadata").resolve("hsmkms").toAbsolutePath();
    }

    /**
     * A pooled connection to a shared PostgreSQL database. Migrations run on open; Flyway takes a PostgreSQL
     * advisory lock while migrating, so nodes that start at once apply each migration once.
     */
    public static JdbcKeyRepository postgres(ExternalDatabase database) {
        HikariConfig config = new HikariConfig();
        config.setPoolName("hsmkms-metadata");
        config.setJdbcUrl(database.url());
        config.setUsername(database.user());
        char[] password = database.readPassword();
        config.setPassword(new String(password));
        java.util.Arrays.fill(password, '\0');
        config.setMaximumPoolSize(database.maxPoolSize());
        // Fail a request after 10 s without a connection instead of Hikari's 30 s: callers see an error
        // they can retry while the database is away, not a hung RPC.
        config.setConnectionTimeout(java.time.Duration.ofSeconds(10).toMillis());
        HikariDataSource pool;
        try {
            pool = new HikariDataSource(config);
        } catch (RuntimeException e) {
            throw new StoreException("connect to " + database.url(), e);
        }
        try {
            return new JdbcKeyRepository(pool, pool::close, true);
        } catch (RuntimeException e) {
            pool.close();
            throw e;
        }
    }

    /**
     * The lock other nodes take before they add or remove token objects: a PostgreSQL advisory lock on a shared
     * database; none for the embedded one, which only this process can open.
     */
    public io.hsmkms.hsm.TokenWriteLock tokenWriteLock() {
        return shared ? new AdvisoryTokenWriteLock(dataSource) : io.hsmkms.hsm.TokenWriteLock.NONE;
    }

    @Override
    public ManagedKey insert(ManagedKey key) {
        ManagedKey stored = new ManagedKey(key.id(), key.accountId(), micros(key.createdAt()), key.description(),
                key.state(), key.spec(), key.usage(), key.origin(),
                key.versions().stream().map(v -> new KeyVersion(v.number(), v.hsmLabel(), micros(v.createdAt()), v.rotation()))
                        .toList(),
                key.policy(), key.tags(), key.deletionDate() == null ? null : micros(key.deletionDate()), key.rotation(),
                key.imported(), 0);
        inTransaction("insert key", connection -> {
            try (PreparedStatement insertKey = connection.prepareStatement(
                    "INSERT INTO cmk (" + KEY_COLUMNS + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)")) {
                insertKey.setString(1, stored.id().toString());
                insertKey.setString(2, stored.accountId());
                insertKey.setObject(3, utc(stored.createdAt()));
                insertKey.setString(4, stored.description());
                insertKey.setString(5, stored.state().name());
                insertKey.setString(6, stored.spec().name());
                insertKey.setString(7, stored.usage().name());
                insertKey.setString(8, stored.origin().name());
                insertKey.setString(9, stored.policy());
                insertKey.setObject(10, stored.deletionDate() == null ? null : utc(stored.deletionDate()));
                setRotation(insertKey, 11, stored.rotation());
                setImported(insertKey, 15, stored.imported());
                insertKey.executeUpdate();
            }
            insertVersions(connection, stored.id(), stored.versions());
            writeTags(connection, stored.id(), stored.tags());
            return null;
        });
        return stored;
    }

    @Override
    public Optional<ManagedKey> find(UUID id) {
        return inTransaction("find key", connection -> {
            try (PreparedStatement query = connection.prepareStatement(
                    "SELECT " + KEY_COLUMNS + " FROM cmk WHERE id = ?")) {
                query.setString(1, id.toString());
                List<ManagedKey> keys = readKeys(connection, query);
                return keys.stream().findFirst();
            }
        });
    }

    @Override
    public java.util.OptionalLong revision(UUID id) {
        try (Connection connection = dataSource.getConnection();
             PreparedStatement query = connection.prepareStatement("SELECT revision FROM cmk WHERE id = ?")) {
            query.setString(1, id.toString());
            try (ResultSet rs = query.executeQuery()) {
                return rs.next() ? java.util.OptionalLong.of(rs.getLong(1)) : java.util.OptionalLong.empty();
            }
        } catch (SQLException e) {
            throw new StoreException("read key revision", e);
        }
    }

    @Override
    public Page list(String accountId, int limit, UUID after) {
        if (limit < 1 || limit > 1000) {
            throw new IllegalArgumentException("limit must be 1..1000");
        }
        return inTransaction("list keys", connection -> {
            try (PreparedStatement query = connection.prepareStatement("SELECT " + KEY_COLUMNS
                    + " FROM cmk WHERE account_id = ? AND id > ? ORDER BY id LIMIT ?")) {
                query.setString(1, accountId);
                query.setString(2, after == null ? "" : after.toString());
                query.setInt(3, limit + 1);
                List<ManagedKey> keys = readKeys(connection, query);
                boolean truncated = keys.size() > limit;
                return new Page(truncated ? keys.subList(0, limit) : keys, truncated);
            }
        });
    }

    @Override
    public ManagedKey update(ManagedKey changed) {
        inTransaction("update key", connection -> {
            try (PreparedStatement update = connection.prepareStatement(
                    "UPDATE cmk SET description = ?, state = ?, policy = ?, deletion_date = ?, rotation_enabled = ?, "
                    + "rotation_period_days = ?, next_rotation_date = ?, on_demand_rotations = ?, import_kcv = ?, "
                    + "import_valid_to = ?, import_generation = ?, import_material_present = ?, revision = revision + 1 "
                    + "WHERE id = ? AND revision = ?")) {
                update.setString(1, changed.description());
                update.setString(2, changed.state().name());
                update.setString(3, changed.policy());
                update.setObject(4, changed.deletionDate() == null ? null : utc(micros(changed.deletionDate())));
                setRotation(update, 5, changed.rotation());
                setImported(update, 9, changed.imported());
                update.setString(13, changed.id().toString());
                update.setLong(14, changed.revision());
                if (update.executeUpdate() == 1) {
                    insertVersions(connection, changed.id(), newVersions(connection, changed));
                    relabelVersions(connection, changed);
                    try (PreparedStatement clear = connection.prepareStatement("DELETE FROM cmk_tag WHERE cmk_id = ?")) {
                        clear.setString(1, changed.id().toString());
                        clear.executeUpdate();
                    }
                    writeTags(connection, changed.id(), changed.tags());
                    return null;
                }
            }
            try (PreparedStatement exists = connection.prepareStatement("SELECT 1 FROM cmk WHERE id = ?")) {
                exists.setString(1, changed.id().toString());
                try (ResultSet rows = exists.executeQuery()) {
                    if (rows.next()) {
                        throw new ConcurrentUpdateException("key " + changed.id() + " changed since it was read");
                    }
                }
            }
            throw new NoSuchElementException("no key " + changed.id());
        });
        return find(changed.id()).orElseThrow(() -> new NoSuchElementException("no key " + changed.id()));
    }

    @Override
    public void insertGrant(Grant grant, int maxPerKey) {
        inTransaction("insert grant", connection -> {
            // Lock the key row so concurrent CreateGrant calls cannot both pass the count check.
            try (PreparedStatement lock = connection.prepareStatement("SELECT id FROM cmk WHERE id = ? FOR UPDATE")) {
                lock.setString(1, grant.keyId().toString());
                try (ResultSet rows = lock.executeQuery()) {
                    if (!rows.next()) {
                        throw new NoSuchElementException("no key " + grant.keyId());
                    }
                }
            }
            try (PreparedStatement count = connection.prepareStatement("SELECT COUNT(*) FROM cmk_grant WHERE cmk_id = ?")) {
                count.setString(1, grant.keyId().toString());
                try (ResultSet rows = count.executeQuery()) {
                    rows.next();
                    if (rows.getInt(1) >= maxPerKey) {
                        throw new IllegalStateException("grant limit reached");
                    }
                }
            }
            try (PreparedStatement insert = connection.prepareStatement("INSERT INTO cmk_grant (grant_id, cmk_id, name, "
                    + "grantee, retiring_principal, operations, context_equals, context_subset, issuing_account, created_at"
                    + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
                insert.setString(1, grant.grantId());
                insert.setString(2, grant.keyId().toString());
                insert.setString(3, grant.name());
                insert.setString(4, grant.granteePrincipal());
                insert.setString(5, grant.retiringPrincipal());
                insert.setString(6, String.join(",", grant.operations().stream().map(GrantOperation::name).sorted().toList()));
                insert.setString(7, GrantCodec.toJson(grant.contextEquals()));
                insert.setString(8, GrantCodec.toJson(grant.contextSubset()));
                insert.setString(9, grant.issuingAccount());
                insert.setObject(10, utc(micros(grant.createdAt())));
                insert.executeUpdate();
            }
            return null;
        });
    }

    @Override
    public List<Grant> forKey(UUID keyId) {
        return queryGrants("list grants", "cmk_id = ?", keyId.toString());
    }

    @Override
    public List<Grant> forGrantee(UUID keyId, String granteePrincipal) {
        return queryGrants("list grants for a grantee", "cmk_id = ? AND grantee = ?", keyId.toString(), granteePrincipal);
    }

    @Override
    public List<Grant> retirableBy(String retiringPrincipal) {
        return queryGrants("list retirable grants", "retiring_principal = ?", retiringPrincipal);
    }

    @Override
    public Optional<Grant> find(UUID keyId, String grantId) {
        return queryGrants("find grant", "grant_id = ?", grantId).stream().filter(g -> g.keyId().equals(keyId)).findFirst();
    }

    @Override
    public boolean deleteGrant(UUID keyId, String grantId) {
        return inTransaction("delete grant", connection -> {
            try (PreparedStatement delete = connection.prepareStatement("DELETE FROM cmk_grant WHERE cmk_id = ? AND grant_id = ?")) {
                delete.setString(1, keyId.toString());
                delete.setString(2, grantId);
                return delete.executeUpdate() == 1;
            }
        });
    }

    private List<Grant> queryGrants(String operation, String where, String... values) {
        return inTransaction(operation, connection -> {
            try (PreparedStatement query = connection.prepareStatement("SELECT grant_id, cmk_id, name, grantee, "
                    + "retiring_principal, operations, context_equals, context_subset, issuing_account, created_at "
                    + "FROM cmk_grant WHERE " + where + " ORDER BY grant_id")) {
                for (int i = 0; i < values.length; i++) {
                    query.setString(i + 1, values[i]);
                }
                List<Grant> out = new ArrayList<>();
                try (ResultSet rs = query.executeQuery()) {
                    while (rs.next()) {
                        java.util.Set<GrantOperation> ops = java.util.EnumSet.noneOf(GrantOperation.class);
                        for (String op : rs.getString("operations").split(",")) {
                            ops.add(GrantOperation.valueOf(op));
                        }
                        out.add(new Grant(rs.getString("grant_id"), UUID.fromString(rs.getString("cmk_id")),
                                rs.getString("name"), rs.getString("grantee"), rs.getString("retiring_principal"), ops,
                                GrantCodec.fromJson(rs.getString("context_equals")),
                                GrantCodec.fromJson(rs.getString("context_subset")), rs.getString("issuing_account"),
                                rs.getObject("created_at", OffsetDateTime.class).toInstant()));
                    }
                }
                return out;
            }
        });
    }

    @Override
    public boolean insertAlias(Alias alias) {
        try {
            return insertNewAlias(alias);
        } catch (StoreException e) {
            // FOR UPDATE locks only rows that exist: two transactions can both find no alias and both
            // insert; the primary key then refuses the second, which means "already exists" too.
            if (e.getCause() instanceof SQLException sql && UNIQUE_VIOLATION.equals(sql.getSQLState())) {
                return false;
            }
            throw e;
        }
    }

    private boolean insertNewAlias(Alias alias) {
        return inTransaction("insert alias", connection -> {
            try (PreparedStatement exists = connection.prepareStatement(
                    "SELECT 1 FROM cmk_alias WHERE account_id = ? AND name = ? FOR UPDATE")) {
                exists.setString(1, alias.accountId());
                exists.setString(2, alias.name());
                try (ResultSet rows = exists.executeQuery()) {
                    if (rows.next()) {
                        return false;
                    }
                }
            }
            try (PreparedStatement insert = connection.prepareStatement(
                    "INSERT INTO cmk_alias (account_id, name, cmk_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?)")) {
                insert.setString(1, alias.accountId());
                insert.setString(2, alias.name());
                insert.setString(3, alias.keyId().toString());
                insert.setObject(4, utc(micros(alias.createdAt())));
                insert.setObject(5, utc(micros(alias.updatedAt())));
                insert.executeUpdate();
            }
            return true;
        });
    }

    @Override
    public Optional<Alias> findAlias(String accountId, String name) {
        return queryAliases("find alias", "account_id = ? AND name = ?", List.of(accountId, name), 1).stream().findFirst();
    }

    @Override
    public boolean retargetAlias(String accountId, String name, UUID keyId, java.time.Instant now) {
        return inTransaction("update alias", connection -> {
            try (PreparedStatement update = connection.prepareStatement(
                    "UPDATE cmk_alias SET cmk_id = ?, updated_at = ? WHERE account_id = ? AND name = ?")) {
                update.setString(1, keyId.toString());
                update.setObject(2, utc(micros(now)));
                update.setString(3, accountId);
                update.setString(4, name);
                return update.executeUpdate() == 1;
            }
        });
    }

    @Override
    public boolean deleteAlias(String accountId, String name) {
        return inTransaction("delete alias", connection -> {
            try (PreparedStatement delete = connection.prepareStatement(
                    "DELETE FROM cmk_alias WHERE account_id = ? AND name = ?")) {
                delete.setString(1, accountId);
                delete.setString(2, name);
                return delete.executeUpdate() == 1;
            }
        });
    }

    @Override
    public List<Alias> listAliases(String accountId, UUID keyId, String afterName, int limit) {
        List<String> values = new ArrayList<>(List.of(accountId, afterName == null ? "" : afterName));
        String where = "account_id = ? AND name > ?";
        if (keyId != null) {
            where += " AND cmk_id = ?";
            values.add(keyId.toString());
        }
        return queryAliases("list aliases", where, values, limit);
    }

    private List<Alias> queryAliases(String operation, String where, List<String> values, int limit) {
        return inTransaction(operation, connection -> {
            try (PreparedStatement query = connection.prepareStatement("SELECT account_id, name, cmk_id, created_at, "
                    + "updated_at FROM cmk_alias WHERE " + where + " ORDER BY name LIMIT ?")) {
                for (int i = 0; i < values.size(); i++) {
                    query.setString(i + 1, values.get(i));
                }
                query.setInt(values.size() + 1, limit);
                List<Alias> out = new ArrayList<>();
                try (ResultSet rs = query.executeQuery()) {
                    while (rs.next()) {
                        out.add(new Alias(rs.getString("account_id"), rs.getString("name"),
                                UUID.fromString(rs.getString("cmk_id")),
                                rs.getObject("created_at", OffsetDateTime.class).toInstant(),
                                rs.getObject("updated_at", OffsetDateTime.class).toInstant()));
                    }
                }
                return out;
            }
        });
    }

    @Override
    public void close() {
        try {
            closer.close();
        } catch (Exception e) {
            throw new StoreException("close", e);
        }
    }

    private static void setRotation(PreparedStatement statement, int first, ManagedKey.Rotation rotation)
            throws SQLException {
        statement.setBoolean(first, rotation.enabled());
        statement.setObject(first + 1, rotation.enabled() ? rotation.periodDays() : null, java.sql.Types.INTEGER);
        statement.setObject(first + 2, rotation.nextRotationDate() == null ? null : utc(micros(rotation.nextRotationDate())));
        statement.setInt(first + 3, rotation.onDemandCount());
    }

    private static void setImported(PreparedStatement statement, int first, ManagedKey.Imported imported)
            throws SQLException {
        statement.setString(first, imported.keyCheckValue());
        statement.setObject(first + 1, imported.validTo() == null ? null : utc(micros(imported.validTo())));
        statement.setInt(first + 2, imported.generation());
        statement.setBoolean(first + 3, imported.present());
    }

    /** Re-imported key material lives under a new label; the version keeps its number. */
    private static void relabelVersions(Connection connection, ManagedKey changed) throws SQLException {
        try (PreparedStatement relabel = connection.prepareStatement(
                "UPDATE cmk_version SET hsm_label = ? WHERE cmk_id = ? AND version = ? AND hsm_label <> ?")) {
            for (KeyVersion version : changed.versions()) {
                relabel.setString(1, version.hsmLabel());
                relabel.setString(2, changed.id().toString());
                relabel.setInt(3, version.number());
                relabel.setString(4, version.hsmLabel());
                relabel.addBatch();
            }
            relabel.executeBatch();
        }
    }

    /** Versions of {@code changed} that are not stored yet (rotation appends; versions never change). */
    private static List<KeyVersion> newVersions(Connection connection, ManagedKey changed) throws SQLException {
        try (PreparedStatement max = connection.prepareStatement("SELECT MAX(version) FROM cmk_version WHERE cmk_id = ?")) {
            max.setString(1, changed.id().toString());
            try (ResultSet rows = max.executeQuery()) {
                rows.next();
                int stored = rows.getInt(1);
                return changed.versions().stream().filter(v -> v.number() > stored).toList();
            }
        }
    }

    private static void insertVersions(Connection connection, UUID keyId, List<KeyVersion> versions) throws SQLException {
        if (versions.isEmpty()) {
            return;
        }
        try (PreparedStatement insert = connection.prepareStatement(
                "INSERT INTO cmk_version (cmk_id, version, hsm_label, created_at, rotation_type) VALUES (?, ?, ?, ?, ?)")) {
            for (KeyVersion version : versions) {
                insert.setString(1, keyId.toString());
                insert.setInt(2, version.number());
                insert.setString(3, version.hsmLabel());
                insert.setObject(4, utc(micros(version.createdAt())));
                insert.setString(5, version.rotation() == null ? null : version.rotation().name());
                insert.addBatch();
            }
            insert.executeBatch();
        }
    }

    private static void writeTags(Connection connection, UUID keyId, Map<String, String> tags) throws SQLException {
        if (tags.isEmpty()) {
            return;
        }
        try (PreparedStatement insert = connection.prepareStatement(
                "INSERT INTO cmk_tag (cmk_id, tag_key, tag_value) VALUES (?, ?, ?)")) {
            for (Map.Entry<String, String> tag : tags.entrySet()) {
                insert.setString(1, keyId.toString());
                insert.setString(2, tag.getKey());
                insert.setString(3, tag.getValue());
                insert.addBatch();
            }
            insert.executeBatch();
        }
    }

    /** Reads key rows from the query plus all their versions and tags in two more queries. */
    private static List<ManagedKey> readKeys(Connection connection, PreparedStatement query) throws SQLException {
        Map<String, KeyRow> rows = new LinkedHashMap<>();
        try (ResultSet rs = query.executeQuery()) {
            while (rs.next()) {
                rows.put(rs.getString("id"), new KeyRow(
                        UUID.fromString(rs.getString("id")),
                        rs.getString("account_id"),
                        rs.getObject("created_at", OffsetDateTime.class).toInstant(),
                        rs.getString("description"),
                        KeyState.valueOf(rs.getString("state")),
                        KeySpec.valueOf(rs.getString("key_spec")),
                        KeyUsage.valueOf(rs.getString("key_usage")),
                        KeyOrigin.valueOf(rs.getString("origin")),
                        rs.getString("policy"),
                        instant(rs, "deletion_date"),
                        new ManagedKey.Rotation(rs.getBoolean("rotation_enabled"), rs.getInt("rotation_period_days"),
                                instant(rs, "next_rotation_date"), rs.getInt("on_demand_rotations")),
                        new ManagedKey.Imported(rs.getString("import_kcv"), instant(rs, "import_valid_to"),
                                rs.getInt("import_generation"), rs.getBoolean("import_material_present")),
                        rs.getLong("revision"),
                        new ArrayList<>(),
                        new java.util.HashMap<>()));
            }
        }
        if (rows.isEmpty()) {
            return List.of();
        }
        String placeholders = String.join(", ", java.util.Collections.nCopies(rows.size(), "?"));
        try (PreparedStatement versions = connection.prepareStatement(
                "SELECT cmk_id, version, hsm_label, created_at, rotation_type FROM cmk_version WHERE cmk_id IN ("
                        + placeholders + ")")) {
            int i = 1;
            for (String id : rows.keySet()) {
                versions.setString(i++, id);
            }
            try (ResultSet rs = versions.executeQuery()) {
                while (rs.next()) {
                    String type = rs.getString("rotation_type");
                    rows.get(rs.getString("cmk_id")).versions().add(new KeyVersion(rs.getInt("version"),
                            rs.getString("hsm_label"), rs.getObject("created_at", OffsetDateTime.class).toInstant(),
                            type == null ? null : KeyVersion.RotationType.valueOf(type)));
                }
            }
        }
        try (PreparedStatement tags = connection.prepareStatement(
                "SELECT cmk_id, tag_key, tag_value FROM cmk_tag WHERE cmk_id IN (" + placeholders + ")")) {
            int i = 1;
            for (String id : rows.keySet()) {
                tags.setString(i++, id);
            }
            try (ResultSet rs = tags.executeQuery()) {
                while (rs.next()) {
                    rows.get(rs.getString("cmk_id")).tags().put(rs.getString("tag_key"), rs.getString("tag_value"));
                }
            }
        }
        return rows.values().stream().map(KeyRow::toKey).toList();
    }

    private <T> T inTransaction(String operation, SqlWork<T> work) {
        try (Connection connection = dataSource.getConnection()) {
            connection.setAutoCommit(false);
            try {
                T result = work.run(connection);
                connection.commit();
                return result;
            } catch (SQLException | RuntimeException e) {
                connection.rollback();
                throw e;
            }
        } catch (SQLException e) {
            throw new StoreException(operation, e);
        }
    }

    private static java.time.Instant instant(ResultSet rs, String column) throws SQLException {
        OffsetDateTime value = rs.getObject(column, OffsetDateTime.class);
        return value == null ? null : value.toInstant();
    }

    @Override
    public List<ManagedKey> dueForDeletion(java.time.Instant now, int limit) {
        return keysDueBy("find keys due for deletion", "deletion_date >= " + EPOCH + " AND deletion_date <= ? "
                + "AND state IN ('PENDING_DELETION', 'DELETING') ORDER BY deletion_date", now, limit);
    }

    @Override
    public void addEncryptions(Map<io.hsmkms.server.core.EncryptionCounter.VersionId, Long> counts) {
        inTransaction("add encryption counts", connection -> {
            try (PreparedStatement update = connection.prepareStatement(
                    "UPDATE cmk_version SET encryptions = encryptions + ? WHERE cmk_id = ? AND version = ?")) {
                for (Map.Entry<io.hsmkms.server.core.EncryptionCounter.VersionId, Long> count : counts.entrySet()) {
                    update.setLong(1, count.getValue());
                    update.setString(2, count.getKey().keyId().toString());
                    update.setInt(3, count.getKey().version());
                    update.addBatch();
                }
                update.executeBatch();
            }
            return null;
        });
    }

    @Override
    public Map<KeyState, Long> countByState() {
        return inTransaction("count keys by state", connection -> {
            try (PreparedStatement query = connection.prepareStatement("SELECT state, COUNT(*) FROM cmk GROUP BY state");
                 ResultSet rows = query.executeQuery()) {
                Map<KeyState, Long> counts = new java.util.EnumMap<>(KeyState.class);
                while (rows.next()) {
                    counts.put(KeyState.valueOf(rows.getString(1)), rows.getLong(2));
                }
                return counts;
            }
        });
    }

    @Override
    public List<ManagedKey> overEncryptionBound(long bound, int limit) {
        return inTransaction("find keys over the encryption bound", connection -> {
            try (PreparedStatement query = connection.prepareStatement("SELECT " + KEY_COLUMNS + " FROM cmk WHERE state = "
                    + "'ENABLED' AND id IN (SELECT v.cmk_id FROM cmk_version v WHERE v.encryptions >= ? AND v.version = "
                    + "(SELECT MAX(w.version) FROM cmk_version w WHERE w.cmk_id = v.cmk_id)) ORDER BY id LIMIT ?")) {
                query.setLong(1, bound);
                query.setInt(2, limit);
                return readKeys(connection, query);
            }
        });
    }

    @Override
    public LabelPage versionLabels(UUID after, int limit) {
        String from = after == null ? "" : after.toString();
        return inTransaction("read version labels", connection -> {
            Map<String, KeyState> states = new java.util.HashMap<>();
            String last = null;
            try (PreparedStatement keys = connection.prepareStatement("SELECT id, state FROM cmk WHERE id > ? ORDER BY id LIMIT ?")) {
                keys.setString(1, from);
                keys.setInt(2, limit);
                try (ResultSet rs = keys.executeQuery()) {
                    while (rs.next()) {
                        last = rs.getString(1);
                        states.put(last, KeyState.valueOf(rs.getString(2)));
                    }
                }
            }
            if (last == null) {
                return new LabelPage(List.of(), null);
            }
            List<VersionLabel> labels = new ArrayList<>();
            // The page's id range on the primary key (cmk_id, version); a key created since the first query may fall
            // in it and is left to the next run, as a key created after this page was read would be anyway.
            try (PreparedStatement versions = connection.prepareStatement(
                    "SELECT cmk_id, hsm_label FROM cmk_version WHERE cmk_id > ? AND cmk_id <= ? ORDER BY cmk_id, version")) {
                versions.setString(1, from);
                versions.setString(2, last);
                try (ResultSet rs = versions.executeQuery()) {
                    while (rs.next()) {
                        String id = rs.getString(1);
                        KeyState state = states.get(id);
                        if (state != null) {
                            labels.add(new VersionLabel(UUID.fromString(id), state, rs.getString(2)));
                        }
                    }
                }
            }
            return new LabelPage(labels, UUID.fromString(last));
        });
    }

    @Override
    public List<ManagedKey> dueForRotation(java.time.Instant now, int limit) {
        return keysDueBy("find keys due for rotation", "rotation_enabled AND next_rotation_date >= " + EPOCH + " AND next_rotation_date <= ? AND state = 'ENABLED' "
                + "ORDER BY next_rotation_date", now, limit);
    }

    @Override
    public List<ManagedKey> importedMaterialExpired(java.time.Instant now, int limit) {
        return keysDueBy("find expired imported material", "import_valid_to >= " + EPOCH + " AND import_valid_to <= ? "
                + "AND state IN ('ENABLED', 'DISABLED') ORDER BY import_valid_to", now, limit);
    }

    /**
     * A lower bound for the time columns the background jobs search (deletion, rotation, expiry): H2 keeps a
     * column's NULLs at the start of its index, so "IS NOT NULL AND <= ?" walked past every key without a date
     * (all but a few); from this bound the index range holds only keys with one.
     */
    private static final String EPOCH = "TIMESTAMP WITH TIME ZONE '1970-01-01 00:00:00+00'";

    /** Keys matching a condition with one time parameter, for the background jobs. */
    private List<ManagedKey> keysDueBy(String operation, String whereAndOrder, java.time.Instant now, int limit) {
        return inTransaction(operation, connection -> {
            try (PreparedStatement query = connection.prepareStatement(
                    "SELECT " + KEY_COLUMNS + " FROM cmk WHERE " + whereAndOrder + " LIMIT ?")) {
                query.setObject(1, utc(now));
                query.setInt(2, limit);
                return readKeys(connection, query);
            }
        });
    }

    @Override
    public void deleteKey(UUID id) {
        inTransaction("delete key", connection -> {
            for (String table : List.of("cmk_alias", "cmk_grant", "cmk_tag", "cmk_version")) {
                try (PreparedStatement delete = connection.prepareStatement("DELETE FROM " + table + " WHERE cmk_id = ?")) {
                    delete.setString(1, id.toString());
                    delete.executeUpdate();
                }
            }
            try (PreparedStatement delete = connection.prepareStatement("DELETE FROM cmk WHERE id = ?")) {
                delete.setString(1, id.toString());
                delete.executeUpdate();
            }
            return null;
        });
    }

    private static java.time.Instant micros(java.time.Instant instant) {
        return instant.truncatedTo(ChronoUnit.MICROS);
    }

    private static OffsetDateTime utc(java.time.Instant instant) {
        return instant.atOffset(ZoneOffset.UTC);
    }

    @FunctionalInterface
    private interface SqlWork<T> {
        T run(Connection connection) throws SQLException;
    }

    private record KeyRow(UUID id, String accountId, java.time.Instant createdAt, String description, KeyState state,
                          KeySpec spec, KeyUsage usage, KeyOrigin origin, String policy, java.time.Instant deletionDate,
                          ManagedKey.Rotation rotation, ManagedKey.Imported imported, long revision, List<KeyVersion> versions,
                          Map<String, String> tags) {
        ManagedKey toKey() {
            return new ManagedKey(id, accountId, createdAt, description, state, spec, usage, origin, versions, policy, tags,
                    deletionDate, rotation, imported, revision);
        }
    }
}
