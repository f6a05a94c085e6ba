import Foundation
@testable import PolybinKit

/// Files no verb takes (BadInputVerbTests) and valid inputs for every verb (EveryVerb), made
/// once per test process from the demo fatbin.
package struct VerbInputs: Sendable {
    package let dir: URL
    /// Label → path of a file that is no valid input for any verb.
    package let foreign: [(String, String)]
    package let bundle: String
    package let payloadObject: String

    package static func get() throws -> VerbInputs { try BuildOnce.value("VerbInputs") { try make() } }

    package static func make() throws -> VerbInputs {
        let demo = try DemoFixture.get()
        // Removed when the test process exits, with the other fixtures.
        let dir = try ReliabilityFixtures.dir().appendingPathComponent("bad-input-verbs")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
        func write(_ name: String, _ bytes: [UInt8]) throws -> String {
            try Data(bytes).write(to: URL(fileURLWithPath: path(name)))
            return path(name)
        }
        let object = path("level.o")
        let cc = try run("cc", ["-c", TestEnvironment.root.appendingPathComponent("Examples/fatbin-demo/level.c").path, "-o", object])
        guard cc.status == 0 else { throw FixtureError("cc: \(cc.err)") }

        let fatbin = [UInt8](try Data(contentsOf: URL(fileURLWithPath: demo.fatbin)))
        let loaded = try LoadedBundle(path: demo.fatbin)
        let start = loaded.offsetInFile, end = start + Int(loaded.byteCount)
        var corrupt = fatbin
        corrupt[start + 20] ^= 0x40  // a header field, covered by the meta hash
        var badMagic = fatbin
        badMagic[start] ^= 0x40
        let stripped = path("stripped")
        try Data(fatbin).write(to: URL(fileURLWithPath: stripped))
        let strip = try run("objcopy", ["--remove-section", Fatbin.payloadSection, stripped])
        guard strip.status == 0 else { throw FixtureError("objcopy: \(strip.err)") }

        let bundle = path("demo.bundle")
        let pack = try run(TestEnvironment.polybin, ["pack", "-o", bundle, "--level", "1",
                                                     "--flavor", "x86-64=\(demo.builds["x86-64"]!)",
                                                     "--flavor", "x86-64-v3=\(demo.builds["x86-64-v3"]!)"])
        guard pack.status == 0 else { throw FixtureError("pack: \(pack.err)") }
        let payloadObject = path("demo.o")
        let emit = try run(TestEnvironment.polybin, ["object", bundle, "-o", payloadObject])
        guard emit.status == 0 else { throw FixtureError("object: \(emit.err)") }

        let directory = path("a-directory")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let foreign = [
            ("empty file", try write("empty", [])),
            ("directory", directory),
            ("plain program", "/bin/ls"),
            ("ELF object", object),
            ("shell script", try write("script.sh", Array("#!/bin/sh\necho hi\n".utf8))),
            ("fatbin with a corrupted header byte", try write("corrupt", corrupt)),
            ("fatbin with a corrupted magic byte", try write("bad-magic", badMagic)),
            ("fatbin cut 100 bytes short of its bundle's end", try write("truncated", Array(fatbin[..<(end - 100)]))),
            ("stripped fatbin", stripped),
        ]
        return VerbInputs(dir: dir, foreign: foreign, bundle: bundle, payloadObject: payloadObject)
    }
}
