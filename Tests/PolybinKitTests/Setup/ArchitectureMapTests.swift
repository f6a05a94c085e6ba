import Foundation
import Testing
import PolybinTestSupport

/// docs/architecture.md is the map: every top-level folder and file of the repository and
/// every file of CSupport/CPolybin/*/ appears in its "Where does X live" table with what it
/// is for, so a new folder or C file cannot land unmapped.
@Suite struct ArchitectureMapTests {
    /// The table's rows: the place (first cell, without backticks) and what it is for.
    static func rows() throws -> [String: String] {
        let text = try String(contentsOf: TestEnvironment.root.appendingPathComponent("docs/architecture.md"), encoding: .utf8)
        var rows: [String: String] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("| `") {
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 4 else { continue }
            rows[cells[1].replacingOccurrences(of: "`", with: "")] = cells[2]
        }
        return rows
    }

    /// What git tracks (and would track) at the top level and under CSupport/CPolybin.
    static func trackedPaths() throws -> [String] {
        let listing = try run("git", ["-C", TestEnvironment.root.path, "ls-files", "-z", "--cached", "--others", "--exclude-standard"])
        try #require(listing.status == 0, "git ls-files: \(listing.err)")
        return listing.out.split(separator: "\0").map(String.init)
            .filter { FileManager.default.fileExists(atPath: TestEnvironment.root.appendingPathComponent($0).path) }
    }

    @Test func everyTopLevelEntryIsMapped() throws {
        let rows = try Self.rows()
        let topLevel = Set(try Self.trackedPaths().compactMap { $0.split(separator: "/").first.map(String.init) })
            .filter { !$0.hasPrefix(".") }
        #expect(topLevel.count >= 8, "the repository's top level was not found: \(topLevel)")
        for entry in topLevel.sorted() {
            #expect(rows[entry].map { !$0.isEmpty } == true, "docs/architecture.md maps no top-level '\(entry)'")
        }
    }

    @Test func everyCLayerFileIsMapped() throws {
        let rows = try Self.rows()
        let files = try Self.trackedPaths().filter { $0.hasPrefix("CSupport/CPolybin/") && $0.split(separator: "/").count == 4 }
        #expect(files.count >= 10, "CSupport/CPolybin's files were not found")
        for file in files {
            let name = String(file.split(separator: "/").last!)
            let folder = file.split(separator: "/").dropLast().joined(separator: "/") + "/"
            // A file has a row of its own, or is named in its folder's row (the headers are).
            let mapped = rows[file].map { !$0.isEmpty } == true || rows[folder].map { $0.contains("`\(name)`") } == true
            #expect(mapped, "docs/architecture.md maps no '\(file)'")
        }
    }
}
