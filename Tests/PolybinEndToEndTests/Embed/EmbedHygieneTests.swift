import Foundation
import Testing
@testable import PolybinKit
import PolybinTestSupport

/// What the outputs must be like beyond their content: sections, symbols, warnings, C++,
/// two bundles in one program, byte-identical reruns, the depfile and the header.
@Suite struct EmbedHygiene {
    static let files: [String: [UInt8]] = [
        "index.html": Array("<h1>hello</h1>\n".utf8), "js/app.js": Array("console.log(1)\n".utf8),
        "data.bin": pseudoRandomBytes(5_000, seed: 3),
    ]

    @Test(arguments: EmbedCompilers.all)
    func objectHasAReadOnlyAlignedPayloadNoAbsoluteSymbolsAndANonExecutableStack(compiler: String) throws {
        guard EmbedCompilers.require(compiler) else { return }
        let tree = try EmbedTree.make(Self.files)
        defer { try? FileManager.default.removeItem(at: tree.root) }
        let dir = try TestEnvironment.temporaryDirectory("polybin-embed-object")
        defer { try? FileManager.default.removeItem(at: dir) }
        let object = dir.appendingPathComponent("assets.o").path
        try embed(["--name", "assets", "--cc", compiler, "-o", object, tree.root.path])

        let sections = try mustRun("readelf", ["-SW", object]).out.split(separator: "\n")
        // A large section (flag l, SHF_X86_64_LARGE): placed past the program's own data.
        let payload = try #require(sections.first { $0.contains(" .lrodata.polybin.assets ") })
        let fields = payload.split(separator: " ", omittingEmptySubsequences: true)
        let type = try #require(fields.firstIndex(of: "PROGBITS"))
        #expect(fields[type + 5] == "Al", "payload section flags: \(payload)")
        #expect((Int(fields.last!) ?? 0) >= 16, "payload alignment: \(payload)")
        let stack = try #require(sections.first { $0.contains(" .note.GNU-stack ") })
        #expect(!stack.contains(" X "), "executable stack note: \(stack)")

        // Only the file symbol is absolute; every global defined here carries the name.
        for line in try mustRun("readelf", ["-sW", object]).out.split(separator: "\n") {
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            guard f.count == 8, f[0].hasSuffix(":") else { continue }
            if f[6] == "ABS" { #expect(f[3] == "FILE", "absolute symbol: \(line)") }
            if f[4] == "GLOBAL" && f[6] != "UND" { #expect(f[7].hasPrefix("assets_"), "unprefixed symbol: \(line)") }
        }
    }

    /// Both the user's C flags and the strict ones: the generated C compiles without a warning.
    @Test(arguments: [EmbedMode.c, .cEmbed, .cIncbin])
    func generatedSourceCompilesWithoutWarnings(mode: EmbedMode) throws {
        let tree = try EmbedTree.make(Self.files)
        defer { try? FileManager.default.removeItem(at: tree.root) }
        let dir = try TestEnvironment.temporaryDirectory("polybin-embed-warnings")
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = dir.appendingPathComponent("assets.c")
        try embed(["--name", "assets", "--mode", mode.rawValue, "--compress", "-o", source.path, tree.root.path])
        for compiler in EmbedCompilers.all where EmbedCompilers.require(compiler) {
            if mode == .cEmbed, try !EmbedConformance.hasEmbed(compiler) { continue }
            for std in ["-std=c99", "-std=gnu17"] {
                try mustRun(compiler, ["-c", std, "-pedantic", "-Wall", "-Wextra", "-Werror", "-o", dir.appendingPathComponent("a.o").path, source.path], cwd: dir)
            }
        }
        if mode == .c {
            // The payload is string literals, never a byte or integer array initialiser.
            let text = String(decoding: try Data(contentsOf: source), as: UTF8.self)
            let definition = try #require(text.range(of: "const unsigned char assets_payload["))
            let initializer = try #require(text[definition.upperBound...].range(of: "] =\n"))
            #expect(text[initializer.upperBound...].hasPrefix("\""))
        }
    }

    @Test(arguments: EmbedCompilers.all)
    func twoBundlesLinkIntoOneProgram(compiler: String) throws {
        guard EmbedCompilers.require(compiler) else { return }
        let first = try EmbedTree.make(["same.txt": Array("first".utf8), "only-first": [1]])
        let second = try EmbedTree.make(["same.txt": Array("second".utf8)])
        let dir = try TestEnvironment.temporaryDirectory("polybin-embed-two")
        defer { for d in [first.root, second.root, dir] { try? FileManager.default.removeItem(at: d) } }
        try embed(["--name", "first", "--cc", compiler, "-o", dir.appendingPathComponent("first.o").path,
                   "--header", dir.appendingPathComponent("first.h").path, first.root.path])
        try embed(["--name", "second", "--mode", "c", "-o", dir.appendingPathComponent("second.c").path,
                   "--header", dir.appendingPathComponent("second.h").path, second.root.path])
        let main = dir.appendingPathComponent("main.c")
        try """
            #include <stdio.h>
            #include "first.h"
            #include "second.h"
            int main(void) {
                const polybin_file *a = first_find("same.txt"), *b = second_find("same.txt");
                printf("%.*s %.*s %zu %zu %d %lld\\n", (int)a->size, (const char *)a->data, (int)b->size,
                       (const char *)b->data, first_count(), second_count(), second_find("only-first") == NULL,
                       first_read(b, NULL, 100));
                return 0;
            }
            """.write(to: main, atomically: true, encoding: .utf8)
        let program = dir.appendingPathComponent("two").path
        try mustRun(compiler, ["-Wall", "-Wextra", "-Werror", "-o", program, main.path,
                               dir.appendingPathComponent("first.o").path, dir.appendingPathComponent("second.c").path])
        #expect(try mustRun(program, []).out == "first second 2 1 1 -1\n")
    }

    @Test(arguments: ["g++", "clang++"])
    func headerCompilesAsCPlusPlus(compiler: String) throws {
        guard EmbedCompilers.require(compiler) else { return }
        let tree = try EmbedTree.make(Self.files)
        let dir = try TestEnvironment.temporaryDirectory("polybin-embed-cxx")
        defer { for d in [tree.root, dir] { try? FileManager.default.removeItem(at: d) } }
        try embed(["--name", "assets", "-o", dir.appendingPathComponent("assets.o").path,
                   "--header", dir.appendingPathComponent("assets.h").path, tree.root.path])
        try embed(["--name", "other", "--header", dir.appendingPathComponent("other.h").path])
        let main = dir.appendingPathComponent("main.cpp")
        try """
            #include <cstdio>
            #include <string>
            #include <vector>
            #include "assets.h"
            #include "other.h"
            int main() {
                const polybin_file *page = assets_find("index.html");
                std::vector<unsigned char> bytes(page->size);
                long long n = assets_read(page, bytes.data(), bytes.size());
                std::printf("%s %lld %zu\\n", std::string(bytes.begin(), bytes.end()).c_str() , n, assets_count());
                return 0;
            }
            """.write(to: main, atomically: true, encoding: .utf8)
        let program = dir.appendingPathComponent("cxx").path
        try mustRun(compiler, ["-std=c++11", "-pedantic", "-Wall", "-Wextra", "-Werror", "-o", program, main.path,
                               dir.appendingPathComponent("assets.o").path])
        #expect(try mustRun(program, []).out == "<h1>hello</h1>\n 15 3\n")
    }

    /// Two runs from different directories, spelling the inputs and outputs differently:
    /// every output byte-identical, in every mode.
    @Test(arguments: EmbedMode.allCases)
    func sameInputsGiveIdenticalOutputsFromAnyDirectory(mode: EmbedMode) throws {
        let tree = try EmbedTree.make(Self.files.merging(["nested/deep/x.txt": Array("x".utf8), "empty": []]) { a, _ in a })
        let first = try TestEnvironment.temporaryDirectory("polybin-embed-det1")
        let second = try TestEnvironment.temporaryDirectory("polybin-embed-det2")
        defer { for d in [tree.root, first, second] { try? FileManager.default.removeItem(at: d) } }
        try FileManager.default.createDirectory(at: second.appendingPathComponent("out/sub"), withIntermediateDirectories: true)
        let name = outputName(mode)
        try embed(["--name", "assets", "--mode", mode.rawValue, "--compress", "-o", name, "--header", "assets.h", tree.root.path], cwd: first)
        let relative = String(repeating: "../", count: second.pathComponents.count + 1) + tree.root.path.dropFirst()
        try embed(["--name", "assets", "--mode", mode.rawValue, "--compress", "-o", "out/sub/\(name)", "--header", "out/sub/assets.h",
                   relative + "/"], cwd: second)
        var compared = [name, "assets.h"]
        if mode == .cEmbed || mode == .cIncbin { compared.append("assets.bundle") }
        for file in compared {
            let a = try Data(contentsOf: first.appendingPathComponent(file))
            let b = try Data(contentsOf: second.appendingPathComponent("out/sub/\(file)"))
            #expect(a == b, "\(file) differs between the two runs")
            #expect(!String(decoding: a, as: UTF8.self).contains(tree.root.path), "\(file) holds the absolute input path")
            #expect(!String(decoding: a, as: UTF8.self).contains(first.path), "\(file) holds the absolute output path")
        }
    }

    /// --bundle elsewhere: the source names it relative to itself, never by an absolute path.
    @Test(arguments: [EmbedMode.cEmbed, .cIncbin])
    func aBundleFileElsewhereIsFoundRelativeToTheSource(mode: EmbedMode) throws {
        let tree = try EmbedTree.make(Self.files)
        let dir = try TestEnvironment.temporaryDirectory("polybin-embed-bundle")
        defer { for d in [tree.root, dir] { try? FileManager.default.removeItem(at: d) } }
        for sub in ["src", "data"] {
            try FileManager.default.createDirectory(at: dir.appendingPathComponent(sub), withIntermediateDirectories: true)
        }
        try embed(["--name", "assets", "--mode", mode.rawValue, "-o", "src/assets.c", "--bundle", "data/files.bundle",
                   "--header", "src/assets.h", tree.root.path], cwd: dir)
        let source = String(decoding: try Data(contentsOf: dir.appendingPathComponent("src/assets.c")), as: UTF8.self)
        #expect(source.contains(mode == .cEmbed ? "#embed \"../data/files.bundle\"" : ".incbin \\\"../data/files.bundle\\\""))
        let compiler = mode == .cEmbed ? "clang" : "gcc"
        guard EmbedCompilers.require(compiler) else { return }
        let (_, out) = try buildAndRunChecker(compiler: compiler, bundleOutput: dir.appendingPathComponent("src/assets.c"),
                                              in: dir.appendingPathComponent("src"))
        #expect(fileLines(out) == tree.expectedLines)
    }

    @Test func depfileListsEveryEmbeddedFileAndDirectory() throws {
        let dir = try TestEnvironment.temporaryDirectory("polybin-embed-depfile")
        defer { try? FileManager.default.removeItem(at: dir) }
        for path in ["web/index.html", "web/my page.html", "web/css/site.css", "web/.hidden", "extra.txt"] {
            let url = dir.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data("x".utf8).write(to: url)
        }
        try embed(["--name", "assets", "--mode", "c-incbin", "-o", "assets.c", "--depfile", "assets.d", "web", "extra.txt"], cwd: dir)
        let text = String(decoding: try Data(contentsOf: dir.appendingPathComponent("assets.d")), as: UTF8.self)
        #expect(text == """
            assets.c assets.bundle: \\
             web/css/site.css \\
             extra.txt \\
             web/index.html \\
             web/my\\ page.html \\
             web \\
             web/css

            web/css/site.css:

            extra.txt:

            web/index.html:

            web/my\\ page.html:

            web:

            web/css:

            """)
    }

    @Test func headerAloneIsWrittenFromTheNameAndNotRewrittenWhenUnchanged() throws {
        let dir = try TestEnvironment.temporaryDirectory("polybin-embed-header")
        defer { try? FileManager.default.removeItem(at: dir) }
        let header = dir.appendingPathComponent("assets.h").path
        try embed(["--name", "assets", "--header", header])
        let old = Date(timeIntervalSince1970: 1_000_000_000)
        try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: header)
        try Data("x".utf8).write(to: dir.appendingPathComponent("a.txt"))
        try embed(["--name", "assets", "-o", dir.appendingPathComponent("assets.o").path, "--header", header,
                   dir.appendingPathComponent("a.txt").path])
        #expect(try FileManager.default.attributesOfItem(atPath: header)[.modificationDate] as? Date == old)
        let text = String(decoding: try Data(contentsOf: URL(fileURLWithPath: header)), as: UTF8.self)
        #expect(text.contains("const polybin_file *assets_find(const char *name);"))
        #expect(text.contains("long long assets_read(const polybin_file *f, void *dst, size_t cap);"))
    }
}
