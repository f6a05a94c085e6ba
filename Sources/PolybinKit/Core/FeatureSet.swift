import CPolybin

/// Required or usable x86-64 features, as the stable bit set of the bundle format.
public struct FeatureSet: Equatable, Hashable, Sendable {
    public var bits: UInt64

    public init(bits: UInt64) { self.bits = bits }

    /// The features a psABI level requires (1 = x86-64 … 4 = x86-64-v4).
    public init(level: Int) { bits = pb_level_features(UInt32(level)) }

    /// Parses feature names in compiler spelling; unknown names are an error, never ignored.
    public init<S: Sequence>(names: S) throws where S.Element == Substring {
        bits = 0
        for name in names {
            var parsed: UInt64 = 0
            guard String(name).withCString({ pb_feature_parse($0, name.utf8.count, &parsed) }) == 0 else {
                throw PolybinError("unknown CPU feature '\(name)' (known: \(FeatureSet.allNames.joined(separator: ", ")))")
            }
            bits |= parsed
        }
    }

    /// This machine's usable features: CPUID and XCR0, exactly as the runner sees them.
    public static var host: FeatureSet { FeatureSet(bits: pb_cpu_features()) }

    public static var allNames: [String] {
        (0..<UInt32(PB_F_COUNT.rawValue)).map { String(cString: pb_feature_name($0)) }
    }

    public var names: [String] {
        (0..<UInt32(PB_F_COUNT.rawValue)).filter { bits & (1 << UInt64($0)) != 0 }.map { String(cString: pb_feature_name($0)) }
    }

    /// Highest psABI level these features satisfy (1…4).
    public var level: Int { Int(pb_level_of(bits)) }

    public var levelName: String { Level.name(level) }

    public func isSubset(of other: FeatureSet) -> Bool { bits & ~other.bits == 0 }

    public func subtracting(_ other: FeatureSet) -> FeatureSet { FeatureSet(bits: bits & ~other.bits) }
}

/// The psABI level names.
public enum Level {
    public static func name(_ level: Int) -> String { String(cString: pb_level_name(UInt32(level))) }

    /// 1…4 for "x86-64" … "x86-64-v4" (and "x86-64-v1"), nil otherwise.
    public static func parse(_ name: Substring) -> Int? {
        let level = String(name).withCString { pb_level_parse($0, name.utf8.count) }
        return level == 0 ? nil : Int(level)
    }
}
