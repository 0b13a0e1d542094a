import Foundation
import GenevaTestSupport
import Testing

/// `geneva export`, checked by independent tools: OASIS stix2-validator
/// (strict) and PyMISP, through scripts/validate-export.py.
@Suite(.serialized) struct ExportCLITests {
    func validate(_ kind: String, _ path: String) throws -> [String: Any] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", RepoPaths.root() + "/scripts/validate-export.py", kind, path]
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errors = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "validator failed (is `pip install stix2-validator pymisp` done? scripts/test.sh does it): \(errors)")
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    @Test(arguments: CLI.Store.allCases) func stixBundleIsValidAndHoldsEverySighting(store: CLI.Store) throws {
        let cli = try CLI(store)
        try cli.loadDemo()
        let path = cli.directory.appendingPathComponent("export.stix.json").path
        let r = try cli.run(["export", "--format", "stix", "--output", path])
        #expect(r.status == 0, "\(r.stderr)")
        let result = try validate("stix", path)
        #expect(result["valid"] as? Bool == true, "\(result["messages"] ?? "")")
        let ndjson = try cli.run(["export", "--format", "ndjson"])
        let lines = ndjson.stdout.split(separator: "\n")
        #expect(lines.count == 7)
        #expect(result["sightings"] as? Int == lines.count)
        #expect(ndjson.stdout == (try cli.run(["sightings", "--format", "ndjson"])).stdout)

        // Stable ids: exporting again gives the same document.
        let again = cli.directory.appendingPathComponent("again.json").path
        #expect(try cli.run(["export", "--format", "stix", "--output", again]).status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == (try Data(contentsOf: URL(fileURLWithPath: again))))

        // The window narrows the export.
        let late = cli.directory.appendingPathComponent("late.json").path
        #expect(try cli.run(["export", "--format", "stix", "--since", "2026-08-01", "--output", late]).status == 0)
        #expect(try validate("stix", late)["sightings"] as? Int == 2)
    }

    @Test(arguments: CLI.Store.allCases) func mispSightingsLoadInPyMISP(store: CLI.Store) throws {
        let cli = try CLI(store)
        try cli.loadDemo()
        let path = cli.directory.appendingPathComponent("export.misp.json").path
        #expect(try cli.run(["export", "--format", "misp", "--output", path]).status == 0)
        let result = try validate("misp", path)
        #expect(result["valid"] as? Bool == true, "\(result["messages"] ?? "")")
        #expect(result["sightings"] as? Int == 7)
        let bad = try cli.run(["export", "--format", "csv"])
        #expect(bad.status != 0)
    }
}
