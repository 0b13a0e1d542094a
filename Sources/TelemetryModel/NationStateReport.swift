/// The counted facts behind a report (SPEC §4, §6), independent of how they
/// are rendered. Storage computes it; Reporting renders it.
package struct NationStateReport: Equatable, Sendable {
    /// The window asked for; open ends are `nil`.
    package var window: TimeWindow
    /// First and last in-window nation-state sighting (the headline's "since"
    /// when no `--since` was given).
    package var firstSighting: Timestamp?
    package var lastSighting: Timestamp?
    package var totals: Totals
    package var byActorCountry: [ActorCountryRow]
    package var campaigns: [CampaignRow]
    package var coverage: Coverage
    /// Nation-state-attacked customers per victim country (most first).
    package var byVictimCountry: [VictimCountryRow] = []
    /// Nation-state sightings per ISO week (Monday 00:00 UTC), oldest first;
    /// weeks without sightings are absent.
    package var sightingsPerWeek: [WeekRow] = []

    package init(
        window: TimeWindow, firstSighting: Timestamp?, lastSighting: Timestamp?, totals: Totals,
        byActorCountry: [ActorCountryRow], campaigns: [CampaignRow], coverage: Coverage
    ) {
        self.window = window
        self.firstSighting = firstSighting
        self.lastSighting = lastSighting
        self.totals = totals
        self.byActorCountry = byActorCountry
        self.campaigns = campaigns
        self.coverage = coverage
    }

    /// Nation-state totals: customers with at least one in-window sighting
    /// of an indicator attributed to an actor with a known country; countries
    /// are the distinct countries of those customers (the victims').
    package struct Totals: Equatable, Sendable {
        package var customers: Int
        package var countries: Int
        package var actors: Int
        package var campaigns: Int
        package var sightings: Int

        package init(customers: Int, countries: Int, actors: Int, campaigns: Int, sightings: Int) {
            self.customers = customers
            self.countries = countries
            self.actors = actors
            self.campaigns = campaigns
            self.sightings = sightings
        }
    }

    package struct VictimCountryRow: Equatable, Sendable {
        package var country: CountryCode
        package var customers: Int

        package init(country: CountryCode, customers: Int) {
            self.country = country
            self.customers = customers
        }
    }

    package struct WeekRow: Equatable, Sendable {
        /// Monday 00:00 UTC of the week.
        package var weekStart: Timestamp
        package var sightings: Int

        package init(weekStart: Timestamp, sightings: Int) {
            self.weekStart = weekStart
            self.sightings = sightings
        }
    }

    package struct ActorCountryRow: Equatable, Sendable {
        package var country: CountryCode
        package var actors: [String]
        package var campaigns: Int
        package var customers: Int
        package var countries: Int

        package init(country: CountryCode, actors: [String], campaigns: Int, customers: Int, countries: Int) {
            self.country = country
            self.actors = actors
            self.campaigns = campaigns
            self.customers = customers
            self.countries = countries
        }
    }

    package struct CampaignRow: Equatable, Sendable {
        package var id: String
        package var name: String
        package var origin: CampaignOrigin
        package var actor: String?
        package var actorCountry: CountryCode?
        package var customers: Int
        package var countries: [CountryCode]
        package var firstSeen: Timestamp
        package var lastSeen: Timestamp
        package var indicators: Int
        package var sightings: Int
        /// Clustered campaigns: the share (%) of its indicators attributed to `actor`.
        package var confidence: Int? = nil

        package init(
            id: String, name: String, origin: CampaignOrigin, actor: String?, actorCountry: CountryCode?,
            customers: Int, countries: [CountryCode], firstSeen: Timestamp, lastSeen: Timestamp,
            indicators: Int, sightings: Int
        ) {
            self.id = id
            self.name = name
            self.origin = origin
            self.actor = actor
            self.actorCountry = actorCountry
            self.customers = customers
            self.countries = countries
            self.firstSeen = firstSeen
            self.lastSeen = lastSeen
            self.indicators = indicators
            self.sightings = sightings
        }
    }

    /// What the numbers rest on: how many sensors exist and how many sent
    /// data covering the window. Capture loss is known only for live capture.
    package struct Coverage: Equatable, Sendable {
        package var sensors: Int
        package var sensorsReporting: Int
        package var captureLossMax: Double?

        package init(sensors: Int, sensorsReporting: Int, captureLossMax: Double?) {
            self.sensors = sensors
            self.sensorsReporting = sensorsReporting
            self.captureLossMax = captureLossMax
        }
    }
}
