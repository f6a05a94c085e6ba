import CPolybin
import Foundation
import Glibc
import PolybinKit
import Testing
import PolybinTestSupport

/// Issue 9, item 3: a build is decoded straight into its destination (written as it comes
/// when that is a file), hashed on the way, and a delta's reference is decoded once.
@Suite struct StreamingDecodeTests {
    /// A 6 MB random baseline, a v3 differing every 4 KiB, both as fake executables.
    static func twoBuilds(in dir: URL) throws -> (flavors: [Flavor], contents: [String: [UInt8]]) {
        let base = TestBytes.fakeExecutable(TestBytes.random(6 << 20, seed: 11))
        var v3 = base
        for i in stride(from: 1000, to: v3.count, by: 4096) { v3[i] &+= 1 }
        try Data(base).write(to: dir.appendingPathComponent("v1"))
        try Data(v3).write(to: dir.appendingPathComponent("v3"))
        let flavors = try [Flavor(parsing: "x86-64=\(dir.path)/v1"), Flavor(parsing: "x86-64-v3=\(dir.path)/v3")]
        return (flavors, ["x86-64": base, "x86-64-v3": v3])
    }

    @Test func decodeWritesEachBuildByteExactIntoItsFileAndReusesTheReference() throws {
        let dir = try TestEnvironment.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (flavors, contents) = try Self.twoBuilds(in: dir)
        var packer = FatbinPacker()
        packer.reference = .named("x86-64")
        packer.compressionLevel = 3
        let bytes = try packer.pack(flavors)
        bytes.withUnsafeBytes { raw in
            var bundle = pb_bundle()
            #expect(pb_bundle_open(&bundle, raw.baseAddress, UInt64(raw.count)) == PB_OK)
            withUnsafePointer(to: &bundle) { pointer in
                var decoder = pb_decoder()
                decoder.bundle = pointer
                defer { pb_decoder_release(&decoder) }
                var reference: UnsafeMutableRawPointer? = nil
                // The delta twice: the second decode must reuse the reference the first made.
                for name in ["x86-64-v3", "x86-64", "x86-64-v3", "x86-64-v3"] {
                    let index = UInt32(pb_bundle_find(pointer, name, name.utf8.count))
                    let expected = contents[name]!
                    let path = dir.appendingPathComponent("out-\(name)").path
                    let fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0o600)
                    #expect(fd >= 0)
                    var memory = [UInt8](repeating: 0, count: expected.count)
                    var err: Int32 = 0
                    let status = memory.withUnsafeMutableBytes { pb_decode(&decoder, index, $0.baseAddress, fd, &err) }
                    close(fd)
                    #expect(status == PB_OK, "\(name): \(String(cString: pb_status_message(status)))")
                    #expect(memory == expected, "\(name): the destination buffer")
                    let written = (try? Data(contentsOf: URL(fileURLWithPath: path))).map { [UInt8]($0) }
                    #expect(written == expected, "\(name): the file written")
                    if name == "x86-64-v3" {
                        #expect(decoder.reference != nil)
                        if let first = reference { #expect(decoder.reference == first, "reference decoded again") }
                        reference = decoder.reference
                    }
                }
            }
        }
    }

    @Test func aWrongByteInTheDestinationsSourceIsCaughtByTheStreamedHash() throws {
        let dir = try TestEnvironment.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (flavors, contents) = try Self.twoBuilds(in: dir)
        var packer = FatbinPacker()
        packer.reference = .named("x86-64")
        packer.compressionLevel = 1
        var bytes = try packer.pack(flavors)
        let loaded = try LoadedBundle(bytes: bytes, path: "fatbin")
        let v3 = loaded.entry(named: "x86-64-v3")!
        // Flip the recorded SHA-256 of v3 (the meta hash is recomputed so the bundle still opens).
        var writer = BundleWriter(kind: .fatbin)
        for entry in loaded.entries {
            var stored = [UInt8]()
            bytes.withUnsafeBytes { raw in
                var bundle = pb_bundle()
                _ = pb_bundle_open(&bundle, raw.baseAddress, UInt64(raw.count))
                var e = pb_entry()
                pb_bundle_entry(&bundle, entry.index, &e)
                stored = Array(UnsafeBufferPointer(start: e.stored, count: Int(e.stored_size)))
            }
            var hash = entry.sha256
            if entry.name == v3.name { hash[0] ^= 1 }
            writer.entries.append(BundleWriter.Entry(name: entry.name, codec: entry.codec, reference: entry.reference,
                                                     size: entry.size, sha256: hash, features: entry.features.bits, stored: stored))
        }
        bytes = try writer.serialize()
        let tampered = try LoadedBundle(bytes: bytes, path: "fatbin")
        #expect(try tampered.content(of: tampered.entry(named: "x86-64")!) == contents["x86-64"]!)
        #expect(throws: PolybinError("fatbin: x86-64-v3: bundle entry content does not match its SHA-256")) {
            try tampered.content(of: tampered.entry(named: "x86-64-v3")!)
        }
    }

    /// Every strategy, every build (the reference and the delta), through the real runner:
    /// the builds are sha256sum and sha1sum, asked to hash /proc/self/exe, so what runs
    /// reports its own bytes, which must be the input build's.
    @Test(arguments: ["cache", "memfd", "tmpfile"])
    func everyStrategyRunsEachBuildByteExact(strategy: String) throws {
        let builds = ["x86-64": "/usr/bin/sha256sum", "x86-64-v2": "/usr/bin/sha1sum"]
        let fatbin = try ReliabilityFixtures.once("hashing-fatbin") { output in
            try DemoFixture.buildFatbin(output, flavors: builds.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" },
                                        extra: ["--reference", "x86-64"])
        }
        #expect(try ReliabilityFixtures.hostLevel() != "x86-64", "this host runs x86-64-v2 builds")
        for (level, build) in builds {
            let cache = try ReliabilityFixtures.scratch("stream-cache")
            defer { try? FileManager.default.removeItem(at: cache) }
            let result = try run(fatbin, ["/proc/self/exe"], environment: ReliabilityFixtures.environment(
                cache: cache, ["POLYBIN_EXEC": strategy, "POLYBIN_FLAVOR": level]))
            #expect(result.status == 0, "\(strategy) \(level): \(result.err)")
            let expected = try run(build, [build]).out.prefix { $0 != " " }
            #expect(result.out.prefix { $0 != " " } == expected, "\(strategy) \(level)")
        }
    }
}
