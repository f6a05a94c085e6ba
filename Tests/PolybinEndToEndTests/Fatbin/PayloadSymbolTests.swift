import Foundation
import Testing
@testable import PolybinKit
import PolybinTestSupport

/// The payload's symbol is named once (pb_payload.h): the runner archive asks for it, and
/// `polybin object` defines it unless told another --symbol.
@Suite struct PayloadSymbolTests {
    @Test func theRunnerAsksForTheSymbolsTheObjectVerbDefines() throws {
        #expect(Fatbin.payloadSymbol == "polybin_bundle" && Fatbin.payloadSizeSymbol == "polybin_bundle_size")
        let undefined = try run("nm", ["-u", TestEnvironment.runnerArchive])
        #expect(undefined.status == 0, "\(undefined.err)")
        let asked = Set(undefined.out.split(separator: "\n").compactMap { $0.split(separator: " ").last.map(String.init) })
        #expect(asked.isSuperset(of: [Fatbin.payloadSymbol, Fatbin.payloadSizeSymbol]), "the runner archive asks for \(asked.filter { $0.contains("bundle") })")

        let dir = try TestEnvironment.temporaryDirectory("polybin-symbol")
        defer { try? FileManager.default.removeItem(at: dir) }
        var writer = BundleWriter(kind: .files)
        writer.entries.append(.init(name: "a", codec: .raw, size: 1, sha256: SHA256.digest([1]), stored: [1]))
        let bundle = dir.appendingPathComponent("a.bundle"), object = dir.appendingPathComponent("a.o")
        try Data(try writer.serialize()).write(to: bundle)
        let emit = try run(TestEnvironment.polybin, ["object", bundle.path, "-o", object.path])
        #expect(emit.status == 0, "\(emit.err)")
        let defined = try run("nm", ["--defined-only", object.path])
        let names = Set(defined.out.split(separator: "\n").compactMap { $0.split(separator: " ").last.map(String.init) })
        #expect(names.isSuperset(of: [Fatbin.payloadSymbol, Fatbin.payloadSizeSymbol]), "polybin object defines \(names)")
    }
}
