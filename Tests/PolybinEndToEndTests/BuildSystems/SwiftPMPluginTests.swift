import Foundation
import Testing
import PolybinTestSupport

/// The PolybinEmbed build-tool plugin, through Examples/swiftpm-embed: a Swift package with no
/// Makefile, built by `swift build` from an empty scratch directory outside the repository.
@Suite(.serialized) struct SwiftPMPluginTests {
    /// The example copied into a fresh directory, depending on this checkout by absolute path.
    struct Workspace {
        let tree: Scratch
        var package: URL { tree.url("Examples/swiftpm-embed") }
        var scratch: URL { tree.build }
        var program: String { scratch.appendingPathComponent("debug/serve-site").path }

        init() throws {
            tree = try Scratch("swiftpm", copying: ["Examples/swiftpm-embed"])
            try? FileManager.default.removeItem(at: package.appendingPathComponent(".build"))
            let manifest = package.appendingPathComponent("Package.swift")
            let text = try String(contentsOf: manifest, encoding: .utf8)
            #expect(text.contains("path: \"../..\""))
            try text.replacingOccurrences(of: "path: \"../..\"", with: "path: \"\(TestEnvironment.root.path)\"")
                .write(to: manifest, atomically: true, encoding: .utf8)
        }

        func remove() { tree.remove() }

        func build(sourceLocation: SourceLocation = #_sourceLocation) throws {
            BuildSystems.succeeded(try run("swift", ["build", "--package-path", package.path, "--scratch-path", scratch.path]),
                                   "swift build", sourceLocation: sourceLocation)
        }

        /// A build that must fail: its output and errors.
        func failedBuild(sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
            let built = try run("swift", ["build", "--package-path", package.path, "--scratch-path", scratch.path])
            #expect(built.status != 0, "swift build succeeded", sourceLocation: sourceLocation)
            return built.out + built.err
        }

        func site(_ name: String) -> URL { package.appendingPathComponent("Sources/CSite/site/\(name)") }
    }

    @Test func pluginEmbedsADirectoryAndEditsAdditionsAndRemovalsRebuild() throws {
        let workspace = try Workspace()
        defer { workspace.remove() }
        #expect(!FileManager.default.fileExists(atPath: workspace.scratch.path))

        try workspace.build()
        let listing = try run(workspace.program)
        #expect(listing.status == 0, "serve-site: \(listing.err)")
        #expect(listing.out == "css/site.css: 31 bytes\nindex.html: 123 bytes\n")
        let page = try run(workspace.program, ["index.html", "missing.html"])
        #expect(page.out == (try String(contentsOf: workspace.site("index.html"), encoding: .utf8)) + "missing.html: not embedded\n")

        // The payload reached the program through generated C, never Swift source.
        let outputs = try #require(FileManager.default.enumerator(atPath: workspace.scratch.appendingPathComponent("plugins/outputs").path))
            .compactMap { $0 as? String }
        #expect(outputs.contains { $0.hasSuffix("PolybinEmbed/site.c") })
        #expect(outputs.contains { $0.hasSuffix("PolybinEmbed/include/site.h") })
        #expect(!outputs.contains { $0.hasSuffix(".swift") })

        // Editing an embedded file and adding one both reach the binary on the next build.
        let css = "p { color: teal; }\n"
        try css.write(to: workspace.site("css/site.css"), atomically: false, encoding: .utf8)
        try "added\n".write(to: workspace.site("added.txt"), atomically: false, encoding: .utf8)
        try workspace.build()
        #expect(try run(workspace.program).out == "added.txt: 6 bytes\ncss/site.css: \(css.utf8.count) bytes\nindex.html: 123 bytes\n")
        #expect(try run(workspace.program, ["css/site.css", "added.txt"]).out == css + "added\n")

        // Removing one does too.
        try FileManager.default.removeItem(at: workspace.site("added.txt"))
        try workspace.build()
        #expect(try run(workspace.program).out == "css/site.css: \(css.utf8.count) bytes\nindex.html: 123 bytes\n")

        // An input outside the target's directory, or no configuration, stops the build with
        // the file named (in the same scratch directory: polybin is built once).
        let configuration = workspace.package.appendingPathComponent("Sources/CSite/polybin-embed.json")
        try #"{"name": "site", "inputs": ["../../Sources"]}"#.write(to: configuration, atomically: true, encoding: .utf8)
        // SwiftPM re-runs a build-tool plugin when a target's file structure or the manifest
        // changes, not when a file's content does: docs/embedding.md says to touch Package.swift.
        try touch(workspace.package.appendingPathComponent("Package.swift"))
        let outside = try workspace.failedBuild()
        #expect(outside.contains("\(configuration.path): input '../../Sources' is outside"), "\(outside.suffix(2000))")
        try FileManager.default.removeItem(at: configuration)
        let missing = try workspace.failedBuild()
        #expect(missing.contains("\(configuration.path): missing"), "\(missing.suffix(2000))")
    }
}

private func touch(_ url: URL) throws {
    try FileManager.default.setAttributes([.modificationDate: Date()], ofItemAtPath: url.path)
}
