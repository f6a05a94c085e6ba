import CPolybin
import Foundation
import Testing
@testable import PolybinKit
import PolybinTestSupport

/// The Swift writer and the C reader agree, byte for byte and field for field.
@Suite struct BundleRoundTripTests {
    static func filesBundle(_ files: [String: [UInt8]], compress: Bool = false) throws -> [UInt8] {
        var writer = BundleWriter(kind: .files)
        for (name, bytes) in files {
            let stored = compress ? try Compression.zstd(bytes, level: 3) : bytes
            writer.entries.append(.init(name: name, codec: compress ? .zstd : .raw, size: UInt64(bytes.count),
                                        sha256: SHA256.digest(bytes), stored: stored))
        }
        return try writer.serialize()
    }

    @Test(arguments: [false, true])
    func filesRoundTripThroughTheCReader(compress: Bool) throws {
        let files: [String: [UInt8]] = [
            "empty": [], "one": [42], "dir/binary.bin": TestBytes.random(70_000, seed: 1),
            "name with spaces.txt": Array("hello\n".utf8), "ünïcödé/ß.txt": Array("x".utf8),
        ]
        let bundle = try LoadedBundle(bytes: Self.filesBundle(files, compress: compress), path: "test.bundle")
        #expect(!bundle.isFatbin)
        #expect(bundle.entries.map(\.name) == files.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
        for entry in bundle.entries {
            #expect(try bundle.content(of: entry) == files[entry.name]!)
            #expect(entry.sha256 == SHA256.digest(files[entry.name]!))
        }
    }

    @Test func findUsesExactByteNames() throws {
        let bytes = try Self.filesBundle(["a": [1], "a/b": [2], "b": [3]])
        var bundle = pb_bundle()
        try bytes.withUnsafeBytes { raw in
            try #require(pb_bundle_open(&bundle, raw.baseAddress, UInt64(raw.count)) == PB_OK)
            #expect(pb_bundle_find(&bundle, "a/b", 3) == 1)
            #expect(pb_bundle_find(&bundle, "b", 1) == 2)
            #expect(pb_bundle_find(&bundle, "a/", 2) == -1)
            #expect(pb_bundle_find(&bundle, "c", 1) == -1)
        }
    }

    @Test func identicalContentIsStoredOnce() throws {
        let payload = TestBytes.random(10_000, seed: 7)
        let twice = try Self.filesBundle(["x": payload, "y": payload])
        let once = try Self.filesBundle(["x": payload])
        #expect(twice.count < once.count + 1_000)
    }

    @Test func writerIsDeterministic() throws {
        let files = ["b": TestBytes.random(5_000, seed: 3), "a": TestBytes.random(9_000, seed: 4)]
        #expect(try Self.filesBundle(files, compress: true) == Self.filesBundle(files, compress: true))
    }

    @Test func everyTruncationIsRejected() throws {
        let bytes = try Self.filesBundle(["a": TestBytes.random(300, seed: 5), "b": [1, 2, 3]])
        for length in 0..<bytes.count {
            var bundle = pb_bundle()
            let status = bytes.withUnsafeBytes { pb_bundle_open(&bundle, $0.baseAddress, UInt64(length)) }
            #expect(status != PB_OK, "accepted a bundle truncated to \(length) of \(bytes.count) bytes")
        }
    }

    @Test func flippedMetadataBitsAreRejectedAndFlippedDataFailsItsHash() throws {
        let bytes = try Self.filesBundle(["a": TestBytes.random(1_000, seed: 6)])
        var bundle = pb_bundle()
        let dataStart = bytes.withUnsafeBytes { raw -> Int in
            _ = pb_bundle_open(&bundle, raw.baseAddress, UInt64(raw.count))
            return raw.baseAddress!.distance(to: UnsafeRawPointer(bundle.data))
        }
        for position in stride(from: 0, to: dataStart, by: 1) {
            var flipped = bytes
            flipped[position] ^= 0x10
            let status = flipped.withUnsafeBytes { pb_bundle_open(&bundle, $0.baseAddress, UInt64($0.count)) }
            #expect(status != PB_OK, "accepted a flipped bit at metadata offset \(position)")
        }
        for position in stride(from: dataStart, to: bytes.count, by: 37) {
            var flipped = bytes
            flipped[position] ^= 0x01
            let loaded = try LoadedBundle(bytes: flipped, path: "flipped")
            #expect(throws: PolybinError.self) { try loaded.content(of: loaded.entries[0]) }
        }
    }

    @Test func lyingSizesAreRejectedBeforeAllocation() throws {
        // A raw entry that claims 2^63 bytes: refused by the reader, even with a valid meta hash.
        var writer = BundleWriter(kind: .files)
        writer.entries.append(.init(name: "huge", codec: .zstd, size: 1 << 63, sha256: [UInt8](repeating: 0, count: 32), stored: [1, 2, 3]))
        let bytes = try writer.serialize()
        var bundle = pb_bundle()
        let status = bytes.withUnsafeBytes { pb_bundle_open(&bundle, $0.baseAddress, UInt64($0.count)) }
        #expect(status == PB_E_CODEC)
    }

    @Test func fatbinDeltasRebuildEveryBuildExactly() throws {
        let dir = try TestEnvironment.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (flavors, base, v3) = try TestBytes.threeBuilds(in: dir)
        let bytes = try FatbinPacker().pack(flavors)
        let bundle = try LoadedBundle(bytes: bytes, path: "fatbin")
        #expect(bundle.isFatbin)
        let references = bundle.entries.filter { $0.codec == .zstd }
        #expect(Set(references.map(\.sha256)).count == 1, "one stored reference")
        for entry in bundle.entries where entry.codec == .delta {
            #expect(references.map(\.name).contains(entry.reference ?? ""))
        }
        #expect(try bundle.content(of: bundle.entry(named: "x86-64")!) == base)
        #expect(try bundle.content(of: bundle.entry(named: "x86-64-v2")!) == base)
        #expect(try bundle.content(of: bundle.entry(named: "x86-64-v3")!) == v3)
        #expect(bytes.count < 200_000 + 20_000)  // random base + small delta + identical v2
        #expect(try FatbinPacker().pack(flavors) == bytes)
    }

    @Test func namedReferenceIsStoredWholeAndTheOthersAsDeltasAgainstIt() throws {
        let dir = try TestEnvironment.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (flavors, base, v3) = try TestBytes.threeBuilds(in: dir)
        var packer = FatbinPacker()
        packer.reference = .named("x86-64-v3")
        let bundle = try LoadedBundle(bytes: packer.pack(flavors), path: "fatbin")
        #expect(bundle.entry(named: "x86-64-v3")?.codec == .zstd)
        #expect(bundle.entry(named: "x86-64")?.codec == .delta)
        #expect(bundle.entry(named: "x86-64")?.reference == "x86-64-v3")
        #expect(try bundle.content(of: bundle.entry(named: "x86-64")!) == base)
        #expect(try bundle.content(of: bundle.entry(named: "x86-64-v3")!) == v3)
    }

    /// Builds where the baseline is the worse reference (v2 and v3 share bytes it lacks):
    /// auto must pick v2, so a packer that always took the baseline fails here.
    @Test func autoReferencePicksTheSmallerOfTheTwoLowest() throws {
        let dir = try TestEnvironment.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let base = TestBytes.fakeExecutable(TestBytes.random(200_000, seed: 3))
        let v2 = TestBytes.fakeExecutable(TestBytes.random(200_000, seed: 4))
        var v3 = v2
        for i in stride(from: 100, to: v3.count, by: 997) { v3[i] ^= 0xFF }
        for (name, bytes) in [("v1", base), ("v2", v2), ("v3", v3)] { try Data(bytes).write(to: dir.appendingPathComponent(name)) }
        let flavors = try ["x86-64=v1", "x86-64-v2=v2", "x86-64-v3=v3"].map {
            try Flavor(parsing: $0.replacingOccurrences(of: "=", with: "=\(dir.path)/"))
        }
        var baseline = FatbinPacker(), second = FatbinPacker()
        baseline.reference = .named("x86-64")
        second.reference = .named("x86-64-v2")
        let auto = try FatbinPacker().pack(flavors)
        let byBaseline = try baseline.pack(flavors), bySecond = try second.pack(flavors)
        #expect(bySecond.count < byBaseline.count, "the fixture must make v2 the better reference")
        #expect(auto == bySecond, "auto (\(auto.count) bytes) is not the v2-referenced pack (\(bySecond.count) bytes)")
        #expect(try LoadedBundle(bytes: auto, path: "auto").entry(named: "x86-64")?.reference == "x86-64-v2")
    }

    @Test func unknownReferenceIsRefused() throws {
        let dir = try TestEnvironment.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var packer = FatbinPacker()
        packer.reference = .named("x86-64-v9")
        #expect(throws: PolybinError("--reference x86-64-v9: no flavor has that name (flavors: x86-64, x86-64-v2, x86-64-v3)")) {
            try packer.pack(TestBytes.threeBuilds(in: dir).flavors)
        }
    }

}
