import Foundation
import PackagePlugin

/// Embeds files into a C target of a Swift package, with no Makefile: a SwiftPM build-tool
/// plugin that runs `polybin embed --mode c` at build time and hands SwiftPM the generated C
/// source and header, which it compiles into the C target (SwiftPM 6.3, in a package whose
/// manifest starts `// swift-tools-version: 6.3;(experimentalCGen)`).
///
/// The C target's directory holds `polybin-embed.json`, naming the bundle and its inputs
/// (paths relative to that directory, and inside it), and `include/TARGET.h`, whose one line
/// `#include "NAME.h"` makes the generated API the module's:
///
///     { "name": "assets", "inputs": ["assets"], "compress": true }
///
/// Inputs must lie inside the target's directory: SwiftPM runs build-tool plugins again only
/// when the file structure of a target's directory changes, so a file added or removed
/// elsewhere would go unnoticed (and a removed one would stop the build as a missing input).
///
/// Optional keys: "base" (a directory, like --base), "compress" (zstd; the program then links
/// zstd, as PolybinFiles does), "level" (with "compress"), "includeHidden", "followSymlinks".
/// Every embedded file and directory is an input of the command, so editing, adding or
/// removing a file regenerates the source on the next `swift build`.
@main struct PolybinEmbed: BuildToolPlugin {
    struct Configuration: Decodable {
        var name: String
        var inputs: [String]
        var base: String?
        var compress: Bool?
        var level: Int?
        var includeHidden: Bool?
        var followSymlinks: Bool?
    }

    static let configurationName = "polybin-embed.json"

    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        guard target is SourceModuleTarget else { return [] }
        let directory = target.directoryURL
        let configurationFile = directory.appending(path: Self.configurationName)
        guard let data = FileManager.default.contents(atPath: configurationFile.path) else {
            throw PluginError("\(configurationFile.path): missing; it names the bundle and its inputs, e.g. {\"name\": \"assets\", \"inputs\": [\"../../assets\"]}")
        }
        let configuration: Configuration
        do {
            configuration = try JSONDecoder().decode(Configuration.self, from: data)
        } catch {
            throw PluginError("\(configurationFile.path): not a polybin-embed configuration: \(error)")
        }
        let inputs = configuration.inputs.map { directory.appending(path: $0).standardizedFileURL }
        let inside = directory.standardizedFileURL.path + "/"
        for (input, written) in zip(inputs, configuration.inputs) where !input.path.hasPrefix(inside) {
            throw PluginError("\(configurationFile.path): input '\(written)' is outside \(directory.path): SwiftPM would miss files added to or removed from it; move it into the target's directory")
        }
        let source = context.pluginWorkDirectoryURL.appending(path: "\(configuration.name).c")
        let header = context.pluginWorkDirectoryURL.appending(path: "include/\(configuration.name).h")

        var arguments = ["embed", "--name", configuration.name, "--mode", "c", "-o", source.path, "--header", header.path]
        if let base = configuration.base { arguments += ["--base", directory.appending(path: base).standardizedFileURL.path] }
        if configuration.compress == true {
            arguments.append("--compress")
            if let level = configuration.level { arguments += ["--level", String(level)] }
        }
        if configuration.includeHidden == true { arguments.append("--include-hidden") }
        if configuration.followSymlinks == true { arguments.append("--follow-symlinks") }
        arguments += inputs.map(\.path)

        return [.buildCommand(
            displayName: "polybin embed \(configuration.name) for \(target.name)",
            executable: try context.tool(named: "polybin").url,
            arguments: arguments,
            inputFiles: [configurationFile] + inputs.flatMap(Self.walk),
            outputFiles: [source, header]
        )]
    }

    /// A path and, for a directory, everything below it: a directory's own entry changes when
    /// a file is added or removed, so both edits and new files rerun the command.
    static func walk(_ url: URL) -> [URL] {
        guard let walker = FileManager.default.enumerator(at: url, includingPropertiesForKeys: nil) else { return [url] }
        return [url] + walker.compactMap { $0 as? URL }
    }
}

struct PluginError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
