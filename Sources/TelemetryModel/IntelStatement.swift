/// One statement of intel: an indicator, and what one source says about it
/// (actor, the actor's country, campaign, validity, confidence). Parsers
/// produce it; the store keeps one entry per statement and source.
package struct IntelStatement: Sendable, Equatable {
    package var kind: IndicatorKind
    /// Normalised per SPEC §3.
    package var value: String
    package var actor: String?
    package var actorCountry: CountryCode?
    package var campaign: String?
    package var validFrom: Timestamp?
    package var validUntil: Timestamp?
    package var confidence: Int?
    /// The intel report (STIX `report` / `grouping` name) the statement is part of.
    package var report: String?
    /// Line (CSV) or position the record came from, for diagnostics.
    package var line: Int

    package init(
        kind: IndicatorKind, value: String, actor: String? = nil, actorCountry: CountryCode? = nil,
        campaign: String? = nil, validFrom: Timestamp? = nil, validUntil: Timestamp? = nil,
        confidence: Int? = nil, report: String? = nil, line: Int = 0
    ) {
        self.report = report
        self.kind = kind
        self.value = value
        self.actor = actor
        self.actorCountry = actorCountry
        self.campaign = campaign
        self.validFrom = validFrom
        self.validUntil = validUntil
        self.confidence = confidence
        self.line = line
    }
}


/// An actor (intrusion set / threat actor) as one source describes it.
package struct ActorStatement: Sendable, Equatable {
    package var name: String
    package var aliases: [String]
    /// The state the actor works for, if the source says.
    package var country: CountryCode?

    package init(name: String, aliases: [String] = [], country: CountryCode? = nil) {
        self.name = name
        self.aliases = aliases
        self.country = country
    }
}

/// A campaign as one source describes it, with the actor it is attributed to.
package struct CampaignStatement: Sendable, Equatable {
    package var name: String
    package var actor: String?

    package init(name: String, actor: String? = nil) {
        self.name = name
        self.actor = actor
    }
}
