import TelemetryModel

/// Finds or creates the stored actor for an actor statement during one
/// source's import.
///
/// Matching: by name (case-insensitive) among all actors; else by an alias
/// (the statement's name or one of its aliases) that names exactly one actor
/// which this import did not itself create. The second rule keeps two
/// clusters of one galaxy file apart when their synonyms overlap (the MISP
/// threat-actor galaxy has 23 synonyms that are other clusters' names),
/// while APT28 from STIX still meets Sofacy's cluster in a galaxy.
struct ActorResolver {
    let sourceID: Int64
    /// Actors this import created (not eligible for alias merging).
    private(set) var created: Set<Int64> = []
    /// Actors this import mentioned.
    private(set) var touched: Set<Int64> = []
    private var cache: [String: Int64] = [:]

    init(sourceID: Int64) {
        self.sourceID = sourceID
    }

    /// Returns the actor id and whether the statement's country conflicted
    /// with a known one (the known one is kept).
    @discardableResult
    mutating func upsert(_ db: any SQLSession, _ actor: ActorStatement) throws -> (id: Int64, conflict: Bool) {
        let name = actor.name
        var id = cache[name.asciiLowercased]
        if id == nil {
            id = try db.int64("SELECT id FROM actor WHERE lower(name) = ?", [.text(name.asciiLowercased)])
        }
        if id == nil {
            for candidate in [name] + actor.aliases {
                let ids = try db.rows("SELECT DISTINCT actor_id FROM actor_alias WHERE lower(alias) = ?", [.text(candidate.asciiLowercased)])
                    .map { try $0.int64(0) }.filter { !created.contains($0) }
                if ids.count == 1 {
                    id = ids[0]
                    break
                }
            }
        }
        let actorID: Int64
        if let id {
            actorID = id
        } else {
            actorID = try db.insert("INSERT INTO actor (name, country) VALUES (?, NULL)", [.text(name)])!
            created.insert(actorID)
        }
        cache[name.asciiLowercased] = actorID
        touched.insert(actorID)
        for alias in [name] + actor.aliases {
            try db.execute("INSERT INTO actor_alias (alias, actor_id) VALUES (?, ?) ON CONFLICT DO NOTHING", [.text(alias), .integer(actorID)])
        }
        try db.execute(
            """
            INSERT INTO actor_source (actor_id, source_id, country) VALUES (?, ?, ?)
            ON CONFLICT(actor_id, source_id) DO UPDATE SET country = COALESCE(actor_source.country, excluded.country)
            """,
            [.integer(actorID), .integer(sourceID), .string(actor.country?.code)])
        guard let country = actor.country else { return (actorID, false) }
        let stored = try db.string("SELECT country FROM actor WHERE id = ?", [.integer(actorID)])
        if stored == nil {
            try db.execute("UPDATE actor SET country = ? WHERE id = ?", [.text(country.code), .integer(actorID)])
            return (actorID, false)
        }
        return (actorID, stored != country.code)
    }
}
