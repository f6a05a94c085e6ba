/// The newest version a program needs from each versioned library, and the symbols that need
/// it: what decides the oldest distribution it runs on. Read from `.gnu.version_r` (which
/// versions of which library) and `.dynsym` (which undefined symbol names which version).
public struct RuntimeVersions: Equatable, Sendable {
    public struct Need: Equatable, Sendable, Codable {
        public var library: String
        /// "GLIBC_2.34", "GLIBCXX_3.4.30", "OPENSSL_3.0.0".
        public var newest: String
        /// The undefined symbols bound to `newest` (none for a version a library needs only as a whole).
        public var symbols: [String]
        /// Every version needed from the library, oldest first.
        public var versions: [String]
    }

    public var needs: [Need]

    public init(needs: [Need]) { self.needs = needs }

    /// From a file's version needs and dynamic symbols (`versionIndex` names the need). One
    /// entry per library and version family: libstdc++ gives a GLIBCXX_ and a CXXABI_ entry.
    init(needs versionNeeds: [ELFFile.VersionNeed], dynamicSymbols: [ELFFile.Symbol]) {
        struct Key: Hashable { var library: String; var prefix: String }
        var groups: [Key: [ELFFile.VersionNeed]] = [:]
        var order: [Key] = []
        for need in versionNeeds {
            let key = Key(library: need.library, prefix: Self.split(need.version).prefix)
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(need)
        }
        needs = order.map { key in
            let versions = groups[key]!.sorted { Self.compare($0.version, $1.version) < 0 }
            let newest = versions.last!
            let indices = Set(versions.filter { $0.version == newest.version }.map(\.index))
            let symbols = dynamicSymbols.filter { $0.section == 0 && indices.contains($0.versionIndex) && !$0.name.isEmpty }
                .map(\.name)
            return Need(library: key.library, newest: newest.version, symbols: Array(Set(symbols)).sorted(),
                        versions: versions.map(\.version))
        }
    }

    /// "GLIBC_2.34" → ("GLIBC_", [2, 34]); "OPENSSL_1_1_1" → ("OPENSSL_", [1, 1, 1]); a name
    /// without a number ("GLIBC_PRIVATE") has an empty list.
    public static func split(_ version: String) -> (prefix: String, numbers: [Int]) {
        guard let first = version.firstIndex(where: \.isNumber) else { return (version, []) }
        let numbers = version[first...].split(whereSeparator: { $0 == "." || $0 == "_" }).map { Int($0.prefix { $0.isNumber }) ?? 0 }
        return (String(version[..<first]), numbers)
    }

    /// Orders versions of one prefix by their numbers (2.9 < 2.34); names without numbers last.
    public static func compare(_ a: String, _ b: String) -> Int {
        let (x, y) = (split(a).numbers, split(b).numbers)
        if x.isEmpty != y.isEmpty { return x.isEmpty ? 1 : -1 }
        for i in 0..<max(x.count, y.count) {
            let (p, q) = (i < x.count ? x[i] : 0, i < y.count ? y[i] : 0)
            if p != q { return p < q ? -1 : 1 }
        }
        return 0
    }
}
