import GRDB

/// Database migrations. A migration, once released, is frozen: change the
/// schema only by appending a new one.
enum Schema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-skeleton") { db in
            try db.execute(sql: """
                CREATE TABLE customer (
                    id TEXT PRIMARY KEY NOT NULL,
                    name TEXT NOT NULL,
                    country TEXT NOT NULL,
                    sector TEXT
                );
                -- A sensor belongs to one customer; its name is unique per customer.
                CREATE TABLE sensor (
                    customer_id TEXT NOT NULL REFERENCES customer(id),
                    name TEXT NOT NULL,
                    PRIMARY KEY (customer_id, name)
                );
                CREATE TABLE actor (
                    id INTEGER PRIMARY KEY,
                    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
                    country TEXT
                );
                CREATE TABLE campaign (
                    id INTEGER PRIMARY KEY,
                    key TEXT NOT NULL UNIQUE,
                    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
                    origin TEXT NOT NULL CHECK (origin IN ('intel', 'clustered')),
                    actor_id INTEGER REFERENCES actor(id)
                );
                -- One row per distinct normalised indicator, whatever its sources.
                CREATE TABLE indicator (
                    id INTEGER PRIMARY KEY,
                    kind TEXT NOT NULL,
                    value TEXT NOT NULL,
                    UNIQUE (kind, value)
                );
                CREATE TABLE intel_source (
                    id INTEGER PRIMARY KEY,
                    name TEXT NOT NULL UNIQUE,
                    format TEXT NOT NULL,
                    imported_at INTEGER NOT NULL
                );
                -- What one source says about one indicator. Re-importing a source
                -- replaces its entries, so the same file imported twice changes nothing.
                CREATE TABLE intel_entry (
                    id INTEGER PRIMARY KEY,
                    indicator_id INTEGER NOT NULL REFERENCES indicator(id),
                    source_id INTEGER NOT NULL REFERENCES intel_source(id),
                    actor_id INTEGER REFERENCES actor(id),
                    campaign_id INTEGER REFERENCES campaign(id),
                    valid_from INTEGER NOT NULL,
                    valid_until INTEGER,
                    confidence INTEGER
                );
                CREATE INDEX intel_entry_indicator ON intel_entry(indicator_id);
                CREATE INDEX intel_entry_source ON intel_entry(source_id);
                CREATE TABLE intel_skip (
                    source_id INTEGER NOT NULL REFERENCES intel_source(id),
                    reason TEXT NOT NULL,
                    count INTEGER NOT NULL,
                    PRIMARY KEY (source_id, reason)
                );
                -- One row per scanned file: what the sensor covered, for coverage figures.
                CREATE TABLE scan (
                    id INTEGER PRIMARY KEY,
                    customer_id TEXT NOT NULL REFERENCES customer(id),
                    sensor TEXT NOT NULL,
                    source TEXT NOT NULL,
                    scanned_at INTEGER NOT NULL,
                    first_time INTEGER,
                    last_time INTEGER,
                    records INTEGER NOT NULL,
                    observables INTEGER NOT NULL,
                    anomalies TEXT NOT NULL
                );
                -- Identity per SPEC §3; re-scanning inserts nothing new.
                CREATE TABLE sighting (
                    id INTEGER PRIMARY KEY,
                    indicator_id INTEGER NOT NULL REFERENCES indicator(id),
                    customer_id TEXT NOT NULL REFERENCES customer(id),
                    sensor TEXT NOT NULL,
                    time INTEGER NOT NULL,
                    evidence TEXT NOT NULL,
                    key TEXT NOT NULL,
                    source TEXT NOT NULL,
                    offset INTEGER NOT NULL,
                    observed TEXT NOT NULL,
                    UNIQUE (indicator_id, customer_id, sensor, evidence, key, time)
                );
                CREATE INDEX sighting_time ON sighting(time);
                """)
        }
        migrator.registerMigration("v2-actor-aliases") { db in
            try db.execute(sql: """
                -- Every name an actor is known by (MISP synonyms, STIX aliases). An alias
                -- may belong to several actors (sources disagree); lookups by alias only
                -- merge when it names exactly one.
                CREATE TABLE actor_alias (
                    alias TEXT NOT NULL COLLATE NOCASE,
                    actor_id INTEGER NOT NULL REFERENCES actor(id),
                    PRIMARY KEY (alias, actor_id)
                );
                -- Which sources describe an actor, keeping every source.
                CREATE TABLE actor_source (
                    actor_id INTEGER NOT NULL REFERENCES actor(id),
                    source_id INTEGER NOT NULL REFERENCES intel_source(id),
                    country TEXT,
                    PRIMARY KEY (actor_id, source_id)
                );
                CREATE TABLE campaign_source (
                    campaign_id INTEGER NOT NULL REFERENCES campaign(id),
                    source_id INTEGER NOT NULL REFERENCES intel_source(id),
                    PRIMARY KEY (campaign_id, source_id)
                );
                INSERT INTO actor_alias (alias, actor_id) SELECT name, id FROM actor;
                """)
        }
        migrator.registerMigration("v3-clustering") { db in
            try db.execute(sql: """
                -- The intel report (STIX report/grouping) a statement came from: indicators
                -- of one report are linked when clustering.
                ALTER TABLE intel_entry ADD COLUMN report TEXT;
                -- Clustered campaigns: the share of their indicators attributed to their actor (%).
                ALTER TABLE campaign ADD COLUMN confidence INTEGER;
                -- Which clustered campaign a sighting is in, and the link that put it there
                -- (`geneva correlate` rebuilds this table and the clustered campaigns).
                CREATE TABLE cluster_sighting (
                    sighting_id INTEGER PRIMARY KEY REFERENCES sighting(id),
                    campaign_id INTEGER NOT NULL REFERENCES campaign(id),
                    via_sighting_id INTEGER REFERENCES sighting(id),
                    reason TEXT NOT NULL,
                    detail TEXT NOT NULL
                );
                CREATE INDEX cluster_sighting_campaign ON cluster_sighting(campaign_id);
                -- Named settings that outlive one command (the correlation parameters).
                CREATE TABLE setting (
                    name TEXT PRIMARY KEY NOT NULL,
                    value TEXT NOT NULL
                );
                CREATE INDEX sighting_indicator ON sighting(indicator_id);
                """)
        }
        migrator.registerMigration("v4-report-scan") { db in
            // The sighting table rebuilt for speed at millions of rows:
            // - identity (SPEC §3) as one 64-bit keyed hash with a UNIQUE index instead of a
            //   six-column text index (inserts compare integers; a hash collision is
            //   resolved by probing the next value, see `GenevaStore.recordScan`);
            // - the customer's number (`customer.n`, a stable integer: a rowid could change on
            //   VACUUM) on every row, so the report reads integers only, in
            //   time order, from one covering index (ReportScan.swift).
            try db.execute(sql: """
                ALTER TABLE customer ADD COLUMN n INTEGER;
                UPDATE customer SET n = rowid;
                CREATE UNIQUE INDEX customer_number ON customer(n);
                CREATE TABLE sighting_v4 (
                    id INTEGER PRIMARY KEY,
                    indicator_id INTEGER NOT NULL REFERENCES indicator(id),
                    customer_id TEXT NOT NULL REFERENCES customer(id),
                    sensor TEXT NOT NULL,
                    time INTEGER NOT NULL,
                    evidence TEXT NOT NULL,
                    key TEXT NOT NULL,
                    source TEXT NOT NULL,
                    offset INTEGER NOT NULL,
                    observed TEXT NOT NULL,
                    customer_n INTEGER NOT NULL,
                    identity INTEGER NOT NULL UNIQUE
                );
                """)
            let insert = try db.makeStatement(sql: """
                INSERT INTO sighting_v4 (id, indicator_id, customer_id, sensor, time, evidence, key, source, offset, observed, customer_n, identity)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            var used = Set<Int64>()
            let identityKey = try SQLiteStore.identityKey(GRDBSession(db: db))
            let rows = try Row.fetchCursor(db, sql: """
                SELECT s.id, s.indicator_id, s.customer_id, s.sensor, s.time, s.evidence, s.key, s.source, s.offset, s.observed, c.n
                FROM sighting s JOIN customer c ON c.id = s.customer_id ORDER BY s.id
                """)
            while let r = try rows.next() {
                // Rows were unique by identity already: a repeated hash is a collision.
                var h = SQLiteStore.identityHash(
                    key: identityKey, indicatorID: r[1], customerID: r[2], sensor: r[3], evidence: r[5], key: r[6], time: r[4])
                while !used.insert(h).inserted { h &+= 1 }
                try insert.execute(arguments: [r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], h])
            }
            try db.execute(sql: """
                DROP TABLE sighting;
                ALTER TABLE sighting_v4 RENAME TO sighting;
                CREATE INDEX sighting_report ON sighting(time, indicator_id, customer_n);
                """)
        }
        migrator.registerMigration("v5-sighting-packs") { db in
            try db.execute(sql: """
                -- The report's compact copy of the sightings (SightingPack.swift).
                CREATE TABLE sighting_pack (
                    id INTEGER PRIMARY KEY,
                    min_time INTEGER NOT NULL,
                    max_time INTEGER NOT NULL,
                    rows INTEGER NOT NULL,
                    data BLOB NOT NULL
                );
                -- The report reads packs; the time index serves `sightings` windows.
                DROP INDEX sighting_report;
                CREATE INDEX sighting_time ON sighting(time);
                """)
            var batch: [SightingPack.Record] = []
            let rows = try Row.fetchCursor(db, sql: "SELECT time, id, indicator_id, customer_n FROM sighting ORDER BY time, id")
            while let r = try rows.next() {
                batch.append(try SightingPack.Record(time: r[0], sighting: r[1], indicatorID: r[2], customerN: r[3]))
                if batch.count == SightingPack.rowsPerPack {
                    try SightingPack.append(db, batch)
                    batch.removeAll(keepingCapacity: true)
                }
            }
            try SightingPack.append(db, batch)
        }
        return migrator
    }
}
