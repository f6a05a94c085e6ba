import CPolybin

/// Required or usable CPU features of one architecture, as the stable bit set of the
/// bundle format (docs/format.md): the same bit means different features on x86-64 and
/// aarch64, so a set always carries its architecture.
public struct FeatureSet: Equatable, Hashable, Sendable {
    public var bits: UInt64
    public var arch: Architecture

    public init(bits: UInt64, arch: Architecture = .x86_64) {
        self.bits = bits
        self.arch = arch
    }

    /// The features a named level requires (1 = baseline … 4).
    public init(level: Int, arch: Architecture = .x86_64) {
        bits = pb_arch_level_features(UInt32(arch.rawValue), UInt32(level))
        self.arch = arch
    }

    /// Parses feature names in compiler spelling; unknown names are an error, never ignored.
    public init<S: Sequence>(names: S, arch: Architecture = .x86_64) throws where S.Element == Substring {
        bits = 0
        self.arch = arch
        for name in names {
            var parsed: UInt64 = 0
            guard String(name).withCString({ pb_arch_feature_parse(UInt32(arch.rawValue), $0, name.utf8.count, &parsed) }) == 0 else {
                throw PolybinError("unknown CPU feature '\(name)' (known: \(FeatureSet.allNames(arch).joined(separator: ", ")))")
            }
            bits |= parsed
        }
    }

    /// This machine's usable features, exactly as the runner sees them: CPUID and XCR0 on
    /// x86-64, the HWCAP words on aarch64.
    public static var host: FeatureSet { FeatureSet(bits: pb_cpu_features(), arch: .host) }

    /// The aarch64 features Linux reports through getauxval(AT_HWCAP) and (AT_HWCAP2).
    public static func aarch64(hwcap: UInt64, hwcap2: UInt64) -> FeatureSet {
        FeatureSet(bits: pb_features_from_hwcaps(hwcap, hwcap2), arch: .aarch64)
    }

    public static func allNames(_ arch: Architecture = .x86_64) -> [String] {
        (0..<pb_arch_feature_count(UInt32(arch.rawValue))).map { String(cString: pb_arch_feature_name(UInt32(arch.rawValue), $0)) }
    }

    public static var allNames: [String] { allNames(.x86_64) }

    public var names: [String] {
        (0..<pb_arch_feature_count(UInt32(arch.rawValue))).filter { bits & (1 << UInt64($0)) != 0 }
            .map { String(cString: pb_arch_feature_name(UInt32(arch.rawValue), $0)) }
    }

    /// Highest named level these features satisfy (1…4).
    public var level: Int { Int(pb_arch_level_of(UInt32(arch.rawValue), bits)) }

    public var levelName: String { Level.name(level, arch: arch) }

    /// Sets of different architectures are never subsets of one another.
    public func isSubset(of other: FeatureSet) -> Bool { arch == other.arch && bits & ~other.bits == 0 }

    public func subtracting(_ other: FeatureSet) -> FeatureSet {
        FeatureSet(bits: arch == other.arch ? bits & ~other.bits : bits, arch: arch)
    }

    /// >0 when these requirements rank above `other`'s (level, then feature count).
    public func rankCompare(_ other: FeatureSet) -> Int {
        Int(pb_arch_rank_compare(UInt32(arch.rawValue), bits, other.bits))
    }
}

/// The named levels: psABI levels on x86-64, GCC -march targets on aarch64.
public enum Level {
    public static func name(_ level: Int, arch: Architecture = .x86_64) -> String {
        String(cString: pb_arch_level_name(UInt32(arch.rawValue), UInt32(level)))
    }

    /// 1…4 for "x86-64" … "x86-64-v4" (and "x86-64-v1"), nil otherwise.
    public static func parse(_ name: Substring, arch: Architecture = .x86_64) -> Int? {
        let level = String(name).withCString { pb_arch_level_parse(UInt32(arch.rawValue), $0, name.utf8.count) }
        return level == 0 ? nil : Int(level)
    }

    /// The level and its architecture, for a name of any architecture's levels.
    public static func parseAny(_ name: Substring) -> (level: Int, arch: Architecture)? {
        for arch in Architecture.allCases {
            if let level = parse(name, arch: arch) { return (level, arch) }
        }
        return nil
    }
}
