import ArgumentParser
import Foundation
import Reporting
import Storage
import TelemetryModel
import WireParsing

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report", abstract: "The headline and the numbers behind it (SPEC §4, §6).")

    enum Format: String, ExpressibleByArgument { case text, markdown, html, json }

    @OptionGroup var store: StoreOptions
    @Option(help: "text, markdown, html (one self-contained file with charts) or json.") var format: Format = .text
    @OptionGroup var windowOptions: WindowOptions
    @Option(help: "Write the report to this file instead of stdout.") var output: String?

    func run() throws {
        let window = try windowOptions.window()
        let report: NationStateReport
        do {
            report = try store.open().nationStateReport(window: window)
        } catch {
            throw fail(error.description)
        }
        let rendered: String
        switch format {
        case .json: rendered = ReportRenderer.json(report).serialized(pretty: true) + "\n"
        case .text: rendered = ReportRenderer.text(report)
        case .markdown: rendered = ReportRenderer.markdown(report)
        case .html: rendered = ReportRenderer.html(report)
        }
        if let output {
            do {
                try Data(rendered.utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
            } catch {
                throw fail("\(output): cannot write report: \(error.localizedDescription)")
            }
        } else {
            print(rendered, terminator: "")
        }
    }
}
