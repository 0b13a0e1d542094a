import Foundation
import GenevaTestSupport
import Testing

/// Golden tests: the README demo (Fixtures/demo) gives exactly the report,
/// campaign list and campaign evidence in Fixtures/demo/expected/. Those
/// files were produced by this test with GENEVA_UPDATE_GOLDEN=1 and then
/// checked by hand against the scenario (Fixtures/README.md); regenerate
/// them only for an intended change, and review the diff.
@Suite(.serialized) struct GoldenReportTests {
    static let expected = RepoPaths.fixtures + "/demo/expected"

    func check(_ name: String, _ actual: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let path = Self.expected + "/" + name
        if ProcessInfo.processInfo.environment["GENEVA_UPDATE_GOLDEN"] == "1" {
            try FileManager.default.createDirectory(atPath: Self.expected, withIntermediateDirectories: true)
            try Data(actual.utf8).write(to: URL(fileURLWithPath: path))
            return
        }
        let golden = try String(contentsOfFile: path, encoding: .utf8)
        #expect(actual == golden, "\(name) differs from the golden file; diff it, and if the change is intended regenerate with GENEVA_UPDATE_GOLDEN=1", sourceLocation: sourceLocation)
    }

    @Test(arguments: CLI.Store.allCases) func demoMatchesTheGoldenFiles(store: CLI.Store) throws {
        let cli = try CLI(store)
        try cli.loadDemo()
        for (name, arguments) in [
            ("report.json", ["report", "--format", "json"]),
            ("report.txt", ["report", "--format", "text"]),
            ("report.md", ["report", "--format", "markdown"]),
            ("campaigns.json", ["campaigns", "--format", "json"]),
            ("campaign-operation-ghost-mail.txt", ["campaign", "intel-operation-ghost-mail"]),
            ("report-since-august.json", ["report", "--format", "json", "--since", "2026-08-01"]),
        ] {
            let r = try cli.run(arguments)
            #expect(r.status == 0, "\(arguments): \(r.stderr)")
            try check(name, r.stdout)
        }
    }
}
