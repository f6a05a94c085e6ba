import CPolybin
import Testing
@testable import PolybinKit
import PolybinTestSupport

/// Issue 9, item 4: the explain table is formatted once, by the C layer (pb_explain_format),
/// for the runner's POLYBIN_EXPLAIN=1 and for `polybin explain` alike
/// (FatbinEndToEndTests.explainVerbMatchesTheRunnersOwnDecisionTable compares the two).
@Suite struct ExplainTable {
    /// A fatbin bundle of one-byte raw builds with these names and required features.
    static func bytes(arch: Architecture = .x86_64, features: [(String, UInt64)]) throws -> [UInt8] {
        var writer = BundleWriter(kind: .fatbin, arch: arch)
        for (name, bits) in features {
            writer.entries.append(.init(name: name, codec: .raw, size: 1, sha256: SHA256.digest([1]), features: bits, stored: [1]))
        }
        return try writer.serialize()
    }

    static func bundle(arch: Architecture = .x86_64, features: [(String, UInt64)]) throws -> LoadedBundle {
        try LoadedBundle(bytes: bytes(arch: arch, features: features), path: "b")
    }

    static let v3 = pb_arch_level_features(UInt32(Architecture.x86_64.rawValue), 3)
    static let v2 = pb_arch_level_features(UInt32(Architecture.x86_64.rawValue), 2)

    @Test func eachFlavorIsUsableOrNamesWhatItLacks() throws {
        let avx512f = UInt64(1) << UInt64(PB_F_AVX512F.rawValue)
        let bundle = try Self.bundle(features: [("x86-64", 0), ("x86-64-v3", Self.v3), ("wide", Self.v2 | avx512f)])
        let host = FeatureSet(bits: Self.v2, arch: .x86_64)
        // Rows in the bundle's order: sorted by name.
        let (text, selected) = try Fatbin.explain(bundle, host: host)
        #expect(selected?.name == "x86-64")
        #expect(text == """
            cpu: x86-64-v2
            cpu features: \(host.names.joined(separator: " "))
            flavor wide: level x86-64-v2, lacks avx512f
            flavor x86-64: level x86-64, usable
            flavor x86-64-v3: level x86-64-v3, lacks \(FeatureSet(bits: Self.v3 & ~Self.v2).names.joined(separator: " "))
            selected: x86-64

            """)
    }

    @Test func nothingUsableSelectsNone() throws {
        let bundle = try Self.bundle(features: [("x86-64-v3", Self.v3)])
        let table = bundle.decisionTable(for: FeatureSet(bits: 0, arch: .x86_64), chosen: nil)
        #expect(table.hasSuffix("\nselected: none\n"))
        #expect(table.hasPrefix("cpu: x86-64\ncpu features: \nflavor x86-64-v3: level x86-64-v3, lacks "))
    }

    /// An aarch64 bundle is described in aarch64's names, whatever machine formats it.
    @Test func anotherArchitecturesTableUsesItsModel() throws {
        let arm = UInt32(Architecture.aarch64.rawValue)
        let bundle = try Self.bundle(arch: .aarch64, features: [("armv8-a", 0), ("sve", pb_arch_level_features(arm, 3))])
        let host = FeatureSet(bits: pb_arch_level_features(arm, 2), arch: .aarch64)
        let table = bundle.decisionTable(for: host, chosen: bundle.select(for: host))
        #expect(table.hasPrefix("cpu: armv8.2-a+dotprod+fp16\n"), "\(table)")
        #expect(table.contains("flavor sve: level armv8.4-a+sve, lacks "), "\(table)")
        #expect(table.hasSuffix("selected: armv8-a\n"), "\(table)")
    }

    /// snprintf's contract: at most cap bytes with the NUL, the full length returned.
    @Test func aShortBufferGetsATruncatedStringAndTheFullLength() throws {
        let bundle = try Self.bundle(features: [("x86-64", 0)])
        let full = bundle.decisionTable(for: FeatureSet(bits: 0, arch: .x86_64), chosen: bundle.entries.first)
        let bytes = try Self.bytes(features: [("x86-64", 0)])
        bytes.withUnsafeBytes { raw in
            var b = pb_bundle()
            #expect(pb_bundle_open(&b, raw.baseAddress, UInt64(raw.count)) == PB_OK)
            var small = [CChar](repeating: 0x7F, count: 12)
            #expect(pb_explain_format(&b, 0, 0, &small, small.count) == full.utf8.count)
            #expect(small[11] == 0)
            #expect(String(decoding: small.prefix(11).map { UInt8(bitPattern: $0) }, as: UTF8.self) == String(full.prefix(11)))
            #expect(pb_explain_format(&b, 0, 0, nil, 0) == full.utf8.count)
        }
    }
}
