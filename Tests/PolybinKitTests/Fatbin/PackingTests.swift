import CPolybin
import Foundation
import PolybinKit
import Testing
import PolybinTestSupport

/// Issue 9, item 1: the default level follows the size, small programs keep level 19.
@Suite struct PackingTests {
    @Test func defaultLevelFollowsTheSizeOfTheBuilds() {
        #expect(FatbinPacker.defaultLevel(forBytes: 1 << 20) == 19)
        #expect(FatbinPacker.defaultLevel(forBytes: (32 << 20) - 1) == 19)
        #expect(FatbinPacker.defaultLevel(forBytes: 32 << 20) == 12)
        #expect(FatbinPacker.defaultLevel(forBytes: (256 << 20) - 1) == 12)
        #expect(FatbinPacker.defaultLevel(forBytes: 256 << 20) == 9)
        #expect(FatbinPacker.defaultLevel(forBytes: 1 << 30) == 6)
        #expect(FatbinPacker.defaultLevel(forBytes: 1 << 40) == 6)
    }

    @Test func smallProgramsArePackedAtLevel19ByDefault() throws {
        let dir = try TestEnvironment.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (flavors, _, _) = try TestBytes.threeBuilds(in: dir)
        var nineteen = FatbinPacker()
        nineteen.compressionLevel = 19
        var three = FatbinPacker()
        three.compressionLevel = 3
        let packed = try FatbinPacker().pack(flavors)
        #expect(packed == (try nineteen.pack(flavors)))
        #expect(packed != (try three.pack(flavors)))
    }

    /// The automatic reference comes from an estimate, then one packing: it must pick what
    /// packing with each candidate and keeping the smaller would pick on a clear case, where
    /// v2 lies between v1 and v3 and so is the better reference.
    @Test func autoReferencePicksTheBuildClosestToTheOthers() throws {
        let dir = try TestEnvironment.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let common = TestBytes.random(300_000, seed: 5)
        let v1Only = TestBytes.random(60_000, seed: 6)
        let v3Only = TestBytes.random(60_000, seed: 7)
        let builds = [("x86-64", common + v1Only), ("x86-64-v2", common + v1Only + v3Only), ("x86-64-v3", common + v3Only)]
        var flavors: [Flavor] = []
        for (level, body) in builds {
            let path = dir.appendingPathComponent(level).path
            try Data(TestBytes.fakeExecutable(body)).write(to: URL(fileURLWithPath: path))
            flavors.append(try Flavor(parsing: "\(level)=\(path)"))
        }
        let bundle = try LoadedBundle(bytes: FatbinPacker().pack(flavors), path: "fatbin")
        #expect(bundle.entry(named: "x86-64-v2")?.codec == .zstd)
        for (level, body) in builds {
            #expect(try bundle.content(of: bundle.entry(named: level)!) == TestBytes.fakeExecutable(body))
        }
    }

    /// Builds over 16 MiB are estimated from slices: the choice must still fall on v2 when
    /// what sets the builds apart is spread through them, as between real level builds.
    @Test func autoReferenceFromSlicesPicksTheBuildClosestToTheOthers() throws {
        let dir = try TestEnvironment.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var v1: [UInt8] = [], v2: [UInt8] = [], v3: [UInt8] = []
        for block in 0..<18 {
            let common = TestBytes.random(1 << 20, seed: UInt64(100 + block))
            let a = TestBytes.random(128 << 10, seed: UInt64(200 + block))
            let b = TestBytes.random(128 << 10, seed: UInt64(300 + block))
            v1 += common + a
            v2 += common + a + b
            v3 += common + b
        }
        var flavors: [Flavor] = []
        for (level, body) in [("x86-64", v1), ("x86-64-v2", v2), ("x86-64-v3", v3)] {
            let path = dir.appendingPathComponent(level).path
            try Data(TestBytes.fakeExecutable(body)).write(to: URL(fileURLWithPath: path))
            flavors.append(try Flavor(parsing: "\(level)=\(path)"))
        }
        var packer = FatbinPacker()
        packer.compressionLevel = 1
        let bundle = try LoadedBundle(bytes: packer.pack(flavors), path: "fatbin")
        #expect(bundle.entry(named: "x86-64-v2")?.codec == .zstd)
        #expect(try bundle.content(of: bundle.entry(named: "x86-64-v3")!) == TestBytes.fakeExecutable(v3))
    }
}
