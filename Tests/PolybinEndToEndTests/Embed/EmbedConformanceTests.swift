import Foundation
import Testing
@testable import PolybinKit
import PolybinTestSupport

/// Every mode, compiled with gcc and with clang and linked as a PIE into a C program that
/// checks the SHA-256 of every file (empty, 1 byte, binary, 100 MiB, nested, odd names)
/// through `assets_read` and in place, and lookups of names that are not there. Serialized:
/// a 100 MiB payload keeps both cores and a few GiB busy.
@Suite(.serialized) struct EmbedConformance {
    /// Whether `compiler` has C23 `#embed` (gcc 15+, clang 19+).
    static func hasEmbed(_ compiler: String) throws -> Bool {
        let dir = try TestEnvironment.temporaryDirectory("polybin-embed-probe")
        defer { try? FileManager.default.removeItem(at: dir) }
        let probe = dir.appendingPathComponent("probe.c")
        try "#if !defined(__has_embed)\n#error no embed\n#endif\n".write(to: probe, atomically: true, encoding: .utf8)
        return try run(compiler, ["-c", "-o", dir.appendingPathComponent("probe.o").path, probe.path]).status == 0
    }

    @Test(arguments: EmbedMode.allCases)
    func everyFileReadsBackWithItsSHA256(mode: EmbedMode) throws {
        let tree = try ConformanceTree.get()
        let dir = try TestEnvironment.temporaryDirectory("polybin-embed-\(mode.rawValue)")
        defer { try? FileManager.default.removeItem(at: dir) }

        for compiler in EmbedCompilers.all where EmbedCompilers.require(compiler) {
            let work = dir.appendingPathComponent(compiler)
            try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
            let output = work.appendingPathComponent(outputName(mode))
            try embed(["--name", "assets", "--mode", mode.rawValue, "--cc", compiler, "-o", output.path,
                       "--header", work.appendingPathComponent("assets.h").path, tree.root.path])

            if mode == .cEmbed, try !Self.hasEmbed(compiler) {
                let result = try run(compiler, ["-c", "-o", work.appendingPathComponent("assets.o").path, output.path])
                #expect(result.status != 0)
                #expect(result.err.contains("assets.c needs a compiler with C23 #embed (clang 19+, gcc 15+): generate it with --mode c or --mode c-incbin"),
                        "\(compiler) without #embed: \(result.err.prefix(500))")
                continue
            }
            // From the parent directory: c-incbin must find its bundle through -I alone.
            let (program, out) = try buildAndRunChecker(compiler: compiler, bundleOutput: output, in: work)
            #expect(fileLines(out) == tree.expectedLines, "\(mode.rawValue) with \(compiler)")
            #expect(out.contains("checked \(tree.expected.count) files, 0 failures"), "\(mode.rawValue) with \(compiler)")
            #expect(!out.contains(".hidden"))
            #expect(try elfProblems(program: program, symbol: "assets_payload") == [], "\(mode.rawValue) with \(compiler)")
        }
    }

    /// `--compress`: files zstd shrinks are stored compressed (`data` NULL, read through
    /// `assets_read` with -lzstd), files it does not shrink stay in place.
    @Test(arguments: EmbedMode.allCases)
    func compressedFilesReadBackThroughRead(mode: EmbedMode) throws {
        let text = Array(String(repeating: "compressible line of text, again and again\n", count: 25_000).utf8)
        let tree = try EmbedTree.make([
            "empty": [], "one-byte": [7], "text/long.txt": text, "random.bin": pseudoRandomBytes(70_001, seed: 2),
        ])
        defer { try? FileManager.default.removeItem(at: tree.root) }
        let dir = try TestEnvironment.temporaryDirectory("polybin-embed-zstd")
        defer { try? FileManager.default.removeItem(at: dir) }

        for compiler in EmbedCompilers.all where EmbedCompilers.require(compiler) {
            if mode == .cEmbed, try !Self.hasEmbed(compiler) { continue }
            let work = dir.appendingPathComponent(compiler)
            try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
            let output = work.appendingPathComponent(outputName(mode))
            try embed(["--name", "assets", "--mode", mode.rawValue, "--cc", compiler, "--compress", "--level", "19",
                       "-o", output.path, "--header", work.appendingPathComponent("assets.h").path, tree.root.path])
            let (_, out) = try buildAndRunChecker(compiler: compiler, bundleOutput: output, in: work, libraries: ["-lzstd"])
            #expect(fileLines(out) == tree.expectedLines, "\(mode.rawValue) with \(compiler)")
            #expect(out.contains("stored text/long.txt compressed"))
            #expect(out.contains("stored random.bin in-place"))
            #expect(out.contains("stored empty in-place"))
            #expect(out.contains("checked 4 files, 0 failures"))
        }
    }

    /// Without --compress the generated code never refers to zstd, so no -lzstd is needed.
    @Test func uncompressedBundlesNeedNoZstd() throws {
        let tree = try EmbedTree.make(["a.txt": Array("a\n".utf8)])
        defer { try? FileManager.default.removeItem(at: tree.root) }
        let dir = try TestEnvironment.temporaryDirectory("polybin-embed-nozstd")
        defer { try? FileManager.default.removeItem(at: dir) }
        let output = dir.appendingPathComponent("assets.o")
        try embed(["--name", "assets", "-o", output.path, "--header", dir.appendingPathComponent("assets.h").path, tree.root.path])
        let symbols = try mustRun("nm", ["-u", output.path]).out
        #expect(!symbols.contains("ZSTD"))
        let (_, out) = try buildAndRunChecker(compiler: "cc", bundleOutput: output, in: dir)
        #expect(out.contains("checked 1 files, 0 failures"))
    }
}
