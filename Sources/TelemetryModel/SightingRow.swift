/// One stored sighting with what it rests on: the indicator, the victim's
/// country and every attribution valid at the sighting's time.
package struct SightingRow: Equatable, Sendable {
    package struct Attribution: Equatable, Sendable {
        package var actor: String?
        package var actorCountry: CountryCode?
        package var campaignID: String?
        package var campaignName: String?

        package init(actor: String?, actorCountry: CountryCode?, campaignID: String?, campaignName: String?) {
            self.actor = actor
            self.actorCountry = actorCountry
            self.campaignID = campaignID
            self.campaignName = campaignName
        }
    }

    /// The store's row id (stable while the database lives; not part of the identity).
    package var id: Int64
    package var time: Timestamp
    package var customerID: String
    package var customerCountry: CountryCode?
    package var sensor: String
    package var evidence: String
    package var key: String
    package var source: String
    package var offset: Int64
    package var observed: String
    package var indicatorID: Int64
    package var indicatorKind: String
    package var indicatorValue: String
    package var attributions: [Attribution]

    /// SPEC §4: counts for nation-state totals when an attribution names an
    /// actor with a known country.
    package var nationState: Bool { attributions.contains { $0.actorCountry != nil } }

    package init(
        id: Int64, time: Timestamp, customerID: String, customerCountry: CountryCode?, sensor: String, evidence: String, key: String,
        source: String, offset: Int64, observed: String, indicatorID: Int64, indicatorKind: String, indicatorValue: String,
        attributions: [Attribution]
    ) {
        self.id = id
        self.time = time
        self.customerID = customerID
        self.customerCountry = customerCountry
        self.sensor = sensor
        self.evidence = evidence
        self.key = key
        self.source = source
        self.offset = offset
        self.observed = observed
        self.indicatorID = indicatorID
        self.indicatorKind = indicatorKind
        self.indicatorValue = indicatorValue
        self.attributions = attributions
    }
}
