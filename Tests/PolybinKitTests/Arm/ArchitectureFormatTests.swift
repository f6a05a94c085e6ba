import CPolybin
import Foundation
import Testing
@testable import PolybinKit
import PolybinTestSupport

/// docs/format.md, version 2: the bundle records its builds' architecture, feature bits are
/// read in that architecture's model, and version 1 bundles (all x86-64) still read.
@Suite struct ArchitectureFormatTests {
    static func fatbin(_ arch: Architecture, _ flavors: [(String, FeatureSet)]) throws -> [UInt8] {
        var writer = BundleWriter(kind: .fatbin, execOrder: PB_EXEC_ORDER_DEFAULT, arch: arch)
        for (i, (name, features)) in flavors.enumerated() {
            let content = Array("build \(i)".utf8)
            writer.entries.append(.init(name: name, codec: .raw, size: UInt64(content.count), sha256: SHA256.digest(content),
                                        features: features.bits, stored: content))
        }
        return try writer.serialize()
    }

    static let armLevels: [(String, FeatureSet)] = (1...4).map {
        (Level.name($0, arch: .aarch64), FeatureSet(level: $0, arch: .aarch64))
    }

    @Test func versionOneBundleStillReadsAsX86() throws {
        let path = TestEnvironment.root.appendingPathComponent("Tests/Fuzz/regressions/bundle/valid-three-flavors.bundle").path
        let bytes = try Files.read(path)
        #expect(bytes[8] == 1 && bytes[9] == 0, "the fixture is a version 1 bundle")
        let bundle = try LoadedBundle(bytes: bytes, path: path)
        #expect(bundle.arch == .x86_64)
        #expect(bundle.entries.count == 3)
        for entry in bundle.entries {
            #expect(entry.features.arch == .x86_64)
            _ = try bundle.content(of: entry)
        }
    }

    @Test func writerRecordsTheArchitectureInVersionTwo() throws {
        let bytes = try Self.fatbin(.aarch64, Self.armLevels)
        #expect(bytes[8] == 2 && bytes[9] == 0)
        #expect(UInt16(bytes[72]) | UInt16(bytes[73]) << 8 == 183)
        let bundle = try LoadedBundle(bytes: bytes, path: "arm.bundle")
        #expect(bundle.arch == .aarch64)
        #expect(bundle.entries.map(\.features.levelName).sorted() == Self.armLevels.map(\.0).sorted())
        let files = try BundleRoundTripTests.filesBundle(["a": [1]])
        #expect(files[72] == 0 && files[73] == 0, "files bundles record no architecture")
        #expect(try LoadedBundle(bytes: files, path: "files.bundle").arch == nil)
    }

    @Test func selectionUsesTheBundlesModel() throws {
        let bundle = try LoadedBundle(bytes: Self.fatbin(.aarch64, Self.armLevels), path: "arm.bundle")
        #expect(bundle.select(for: RecordedHWCAP.cortexA53.features)?.name == "armv8-a")
        #expect(bundle.select(for: RecordedHWCAP.neoverseN1.features)?.name == "armv8.2-a+dotprod+fp16")
        #expect(bundle.select(for: RecordedHWCAP.neoverseV1.features)?.name == "armv8.4-a+sve")
        #expect(bundle.select(for: RecordedHWCAP.neoverseV2.features)?.name == "armv9-a+sve2")
        // An x86-64 CPU runs none of them, whatever its bits say.
        #expect(bundle.select(for: FeatureSet(bits: ~0, arch: .x86_64)) == nil)
        let (text, selected) = try Fatbin.explain(bundle, host: RecordedHWCAP.neoverseN1.features)
        #expect(selected?.name == "armv8.2-a+dotprod+fp16")
        #expect(text.contains("flavor armv8.4-a+sve: level armv8.4-a+sve, lacks jscvt fcma pauth flagm fp16fml sve\n"))
        #expect(throws: PolybinError.self) { try Fatbin.explain(bundle, host: FeatureSet(bits: 0, arch: .x86_64)) }
    }

    /// Rewrites header bytes and the meta hash, as a crafted (not a damaged) bundle would.
    static func crafted(_ bytes: [UInt8], _ edit: (inout [UInt8]) -> Void) -> pb_status {
        var copy = bytes
        edit(&copy)
        BundleDigest.rehashMeta(&copy)
        var bundle = pb_bundle()
        return copy.withUnsafeBytes { pb_bundle_open(&bundle, $0.baseAddress, UInt64($0.count)) }
    }

    @Test func readerRefusesUnknownOrMisplacedArchitectures() throws {
        let arm = try Self.fatbin(.aarch64, Self.armLevels)
        #expect(Self.crafted(arm) { _ in } == PB_OK)
        #expect(Self.crafted(arm) { $0[72] = 40; $0[73] = 0 } == PB_E_HEADER)   // EM_ARM: no model
        #expect(Self.crafted(arm) { $0[72] = 0; $0[73] = 0 } == PB_E_HEADER)    // a fatbin must say
        #expect(Self.crafted(arm) { $0[74] = 1 } == PB_E_HEADER)                // reserved stays zero
        #expect(Self.crafted(arm) { $0[8] = 3 } == PB_E_VERSION)
        // A version 1 header has no architecture field: the same bytes there are refused.
        #expect(Self.crafted(arm) { $0[8] = 1 } == PB_E_HEADER)
        let files = try BundleRoundTripTests.filesBundle(["a": [1]])
        #expect(Self.crafted(files) { $0[72] = 183 } == PB_E_HEADER)
    }

    @Test func featureBitsPastTheArchitecturesModelAreRefused() throws {
        let past = FeatureSet(bits: 1 << UInt64(PB_A_COUNT.rawValue), arch: .aarch64)
        var status = PB_OK
        let bytes = try Self.fatbin(.aarch64, [("odd", past)])
        bytes.withUnsafeBytes { raw in
            var bundle = pb_bundle()
            status = pb_bundle_open(&bundle, raw.baseAddress, UInt64(raw.count))
        }
        #expect(status == PB_E_INDEX)
        // The same bit is a valid x86-64 feature (avx512vbmi2... up to sse4a).
        let x86 = try Self.fatbin(.x86_64, [("odd", FeatureSet(bits: past.bits, arch: .x86_64))])
        #expect(try LoadedBundle(bytes: x86, path: "x86.bundle").entries.count == 1)
    }
}
