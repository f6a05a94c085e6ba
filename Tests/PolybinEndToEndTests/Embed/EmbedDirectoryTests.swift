import Foundation
import Testing
import PolybinFiles
@testable import PolybinKit
import PolybinTestSupport

/// Directories in embedded files: `NAME_kind`, `NAME_lower_bound` and `NAME_dir_next` in the
/// generated C, and `kind(of:)`, `firstIndex(atOrAfter:)` and `contents(ofDirectory:)` in
/// PolybinFiles, against a model that scans every name. The names are chosen so that '-',
/// '.' and '0' (the bytes around '/') sort between a directory's entries.
@Suite struct EmbedDirectories {
    /// A deterministic tree of files whose names collide with directory boundaries in byte order.
    static let names: [String] = {
        let components = ["a", "b", "a.x", "a-y", "a0", "ab", "é t"]
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
        var chosen = Set<String>()
        while chosen.count < 150 {
            chosen.insert((0...next(4)).map { _ in components[next(components.count)] }.joined(separator: "/"))
        }
        // A name that is also a directory of another name cannot exist on disk: keep the deeper one.
        return chosen.filter { name in !chosen.contains { $0.hasPrefix(name + "/") } }
            .sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }()

    /// Every directory and name, each also with a trailing '/', a byte less, '0' and '-' after it.
    static let queries: [String] = {
        var all: Set<String> = ["", "/", "nope", "a/", "zzz"]
        for name in names {
            let parts = name.split(separator: "/", omittingEmptySubsequences: false)
            for end in 1...parts.count {
                let path = parts[..<end].joined(separator: "/")
                all.formUnion([path, path + "/", String(path.dropLast()), path + "0", path + "-", path + "/z"])
            }
        }
        return all.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }()

    enum ModelKind: String { case none, file, directory }

    static func kind(_ path: String) -> ModelKind {
        if path.isEmpty { return .directory }
        if names.contains(path) { return .file }
        return names.contains { $0.hasPrefix(path + "/") } ? .directory : .none
    }

    static func lowerBound(_ key: String) -> Int {
        names.firstIndex { !$0.utf8.lexicographicallyPrecedes(key.utf8) } ?? names.count
    }

    /// Direct entries of `dir` as "name:kind", in the order of the names they come from.
    static func listing(_ dir: String) -> [String]? {
        guard kind(dir) == .directory else { return nil }
        let prefix = dir.isEmpty ? "" : dir + "/"
        var seen: [String] = []
        for name in names where name.hasPrefix(prefix) {
            let rest = name.dropFirst(prefix.count)
            let entry = rest.firstIndex(of: "/").map { "\(rest[..<$0]):directory" } ?? "\(rest):file"
            if seen.last != entry { seen.append(entry) }
        }
        return seen
    }

    /// What the C checker must print for `queries`.
    static var expectedLines: [String] {
        queries.flatMap { q -> [String] in
            var lines = ["kind [\(q)] \(kind(q).rawValue)", "lower [\(q)] \(lowerBound(q))"]
            if let entries = listing(q) { lines += entries.map { "entry [\(q)] \($0)" } }
            return lines
        }
    }

    static let checker = """
        #include <stdio.h>
        #include "assets.h"
        int main(int argc, char **argv) {
            static const char *kinds[] = {"none", "file", "directory"};
            for (int i = 1; i < argc; i++) {
                size_t cursor = 0;
                polybin_dirent e;
                printf("kind [%s] %s\\n", argv[i], kinds[assets_kind(argv[i])]);
                printf("lower [%s] %zu\\n", argv[i], assets_lower_bound(argv[i]));
                while (assets_dir_next(argv[i], &cursor, &e)) {
                    printf("entry [%s] %.*s:%s\\n", argv[i], (int)e.length, e.name, kinds[e.kind]);
                    if ((e.kind == POLYBIN_FILE) != (e.file != NULL)) printf("FAIL file pointer of %.*s\\n", (int)e.length, e.name);
                }
            }
            if (assets_kind(NULL) != POLYBIN_NONE || assets_lower_bound(NULL) != assets_count()) printf("FAIL null handling\\n");
            return 0;
        }
        """

    static func tree() throws -> EmbedTree {
        try EmbedTree.make(Dictionary(uniqueKeysWithValues: names.map { ($0, Array($0.utf8)) }), label: "polybin-embed-dirs")
    }

    @Test(arguments: [EmbedMode.object, .c])
    func generatedCAnswersLikeAScanOfEveryName(mode: EmbedMode) throws {
        let tree = try Self.tree()
        defer { try? FileManager.default.removeItem(at: tree.root) }
        let dir = try TestEnvironment.temporaryDirectory("polybin-embed-dirs-\(mode.rawValue)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let output = dir.appendingPathComponent(outputName(mode))
        try embed(["--name", "assets", "--mode", mode.rawValue, "-o", output.path,
                   "--header", dir.appendingPathComponent("assets.h").path, tree.root.path])
        let source = dir.appendingPathComponent("check.c")
        try Self.checker.write(to: source, atomically: true, encoding: .utf8)
        let program = dir.appendingPathComponent("check")
        try mustRun("cc", ["-std=c99", "-Wall", "-Wextra", "-Werror", "-I", dir.path, "-o", program.path, source.path, output.path])
        let result = try run(program.path, Self.queries)
        #expect(result.status == 0)
        let lines = result.out.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
        #expect(!lines.contains { $0.hasPrefix("FAIL") })
        #expect(lines == Self.expectedLines)
    }

    @Test func polybinFilesAnswersLikeAScanOfEveryName() throws {
        let tree = try Self.tree()
        defer { try? FileManager.default.removeItem(at: tree.root) }
        let bundle = try FilesPacker().pack(EmbedInputs().collect([FilePath(tree.root.path)]).files).bytes()
        try bundle.withUnsafeBytes { raw in
            let files = try EmbeddedFiles(bundle: raw)
            #expect(files.map(\.name) == Self.names)
            for q in Self.queries {
                let kind: ModelKind = switch files.kind(of: q) {
                case .file: .file
                case .directory: .directory
                case nil: .none
                }
                #expect(kind == Self.kind(q), "kind of [\(q)]")
                #expect(files.firstIndex(atOrAfter: q) == Self.lowerBound(q), "lower bound of [\(q)]")
                let entries = files.contents(ofDirectory: q)?.map { "\($0.name):\($0.kind == .file ? "file" : "directory")" }
                #expect(entries == Self.listing(q), "contents of [\(q)]")
                for entry in files.contents(ofDirectory: q) ?? [] where entry.kind == .file {
                    #expect(files[entry.index!].name == (q.isEmpty ? "" : q + "/") + entry.name)
                }
            }
        }
    }

    /// The generated C keeps its own copy of the walk (it must compile alone); PolybinFiles
    /// calls the C layer's (pb_bundle_dir_next). Both list the same for every directory of one
    /// tree on disk: the root, names with bytes below '/' beside a directory of the same stem,
    /// and empty directories, which hold no file and so are no directory of the bundle.
    @Test func theGeneratedWalkAndTheCLayersWalkListTheSame() throws {
        let files = ["a/x", "a/b/c", "a/b0", "a b", "a!b", "a#", "a+c", "a,d", "a-e", "a.f", "a0", "b/a/b/c", "b/a-b", "top"]
        let tree = try EmbedTree.make(Dictionary(uniqueKeysWithValues: files.map { ($0, Array($0.utf8)) }), label: "polybin-embed-walk")
        defer { try? FileManager.default.removeItem(at: tree.root) }
        for empty in ["empty", "a/empty", "b/a/empty"] {
            try FileManager.default.createDirectory(at: tree.root.appendingPathComponent(empty), withIntermediateDirectories: true)
        }
        let queries = ["", "a", "a/b", "b", "b/a", "b/a/b", "empty", "a/empty", "b/a/empty", "a b", "top", "a/", "nope"]

        let dir = try TestEnvironment.temporaryDirectory("polybin-embed-walk")
        defer { try? FileManager.default.removeItem(at: dir) }
        let output = dir.appendingPathComponent("assets.o")
        try embed(["--name", "assets", "-o", output.path, "--header", dir.appendingPathComponent("assets.h").path, tree.root.path])
        let source = dir.appendingPathComponent("check.c")
        try Self.checker.write(to: source, atomically: true, encoding: .utf8)
        let program = dir.appendingPathComponent("check")
        try mustRun("cc", ["-std=c99", "-Wall", "-Wextra", "-Werror", "-I", dir.path, "-o", program.path, source.path, output.path])
        let generated = try run(program.path, queries)
        #expect(generated.status == 0)

        let bundle = try FilesPacker().pack(EmbedInputs().collect([FilePath(tree.root.path)]).files).bytes()
        let lines = try bundle.withUnsafeBytes { raw -> [String] in
            let files = try EmbeddedFiles(bundle: raw)
            return queries.flatMap { q -> [String] in
                let kind = switch files.kind(of: q) { case .file: "file"; case .directory: "directory"; case nil: "none" }
                return ["kind [\(q)] \(kind)", "lower [\(q)] \(files.firstIndex(atOrAfter: q))"]
                    + (files.contents(ofDirectory: q) ?? []).map { "entry [\(q)] \($0.name):\($0.kind == .file ? "file" : "directory")" }
            }
        }
        #expect(generated.out.split(separator: "\n").map(String.init) == lines)
        #expect(lines.contains("entry [] a b:file") && lines.contains("entry [a] b:directory") && lines.contains("kind [empty] none"))
    }
}
