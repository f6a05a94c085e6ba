import CPolybin

/// One build of the program and the features it requires.
///
/// Spelled on the command line as `LEVEL=PATH` (`x86-64-v3=build/v3/app`,
/// `armv8.4-a+sve=build/sve/app`) or `NAME:FEATURE,FEATURE=PATH` (`fast:avx2,fma,bmi2=...`,
/// `dot:dotprod,lse=...`). A level names its architecture; a feature list is read in the
/// architecture of the build it names (`resolved(for:)`), so `aes` means the x86-64 or the
/// Arm instructions according to the binary.
public struct Flavor: Equatable, Sendable {
    public var name: String
    public var features: FeatureSet
    public var path: String
    /// The explicit feature list as spelled; nil for a level.
    public var spelledFeatures: [String]?
    let spec: String

    public init(name: String, features: FeatureSet, path: String) {
        self.name = name
        self.features = features
        self.path = path
        spelledFeatures = nil
        spec = "\(name)=\(path)"
    }

    public init(parsing spec: String) throws {
        self.spec = spec
        guard let equals = spec.firstIndex(of: "=") else {
            throw PolybinError("--flavor \(spec): expected LEVEL=PATH or NAME:FEATURES=PATH")
        }
        let label = spec[..<equals]
        path = String(spec[spec.index(after: equals)...])
        guard !path.isEmpty else { throw PolybinError("--flavor \(spec): no path after '='") }
        if let colon = label.firstIndex(of: ":") {
            name = String(label[..<colon])
            let list = label[label.index(after: colon)...]
            guard !list.isEmpty else { throw PolybinError("--flavor \(spec): empty feature list after ':'") }
            let words = list.split(separator: ",", omittingEmptySubsequences: false)
            spelledFeatures = words.map(String.init)
            features = try Flavor.features(words, arch: Flavor.likelyArchitecture(words), spec: spec)
            guard Level.parseAny(Substring(name)) == nil else {
                throw PolybinError("--flavor \(spec): '\(name)' is a level name; use \(name)=PATH for a level build")
            }
        } else if let (level, arch) = Level.parseAny(label) {
            name = Level.name(level, arch: arch)
            features = FeatureSet(level: level, arch: arch)
            spelledFeatures = nil
        } else {
            let levels = Architecture.allCases.map { $0.levelNames.joined(separator: ", ") }.joined(separator: "; ")
            throw PolybinError("--flavor \(spec): unknown level '\(label)' (levels: \(levels); or NAME:FEATURES=PATH)")
        }
        guard Flavor.isValidName(name) else {
            throw PolybinError("--flavor \(spec): flavor name '\(name)' must be 1-64 characters of letters, digits, '.', '_', '-', '+'")
        }
    }

    /// Whether `name` may name a flavor: 1 to 64 of A-Z a-z 0-9 . _ - + (pb_flavor_name_valid,
    /// the rule the runner checks POLYBIN_FLAVOR with).
    public static func isValidName(_ name: String) -> Bool {
        var name = name
        return name.withUTF8 { $0.withMemoryRebound(to: CChar.self) { pb_flavor_name_valid($0.baseAddress, $0.count) != 0 } }
    }

    /// This flavor for a build of `arch`: a feature list is read again in that architecture's
    /// model; a level of another architecture is an error naming the build.
    public func resolved(for arch: Architecture) throws -> Flavor {
        if features.arch == arch { return self }
        guard let spelled = spelledFeatures else {
            throw PolybinError("\(path): flavor \(name) is an \(features.arch.name) level but the build is an \(arch.name) ELF executable")
        }
        var flavor = self
        flavor.features = try Flavor.features(spelled.map { Substring($0) }, arch: arch, spec: spec)
        return flavor
    }

    /// The architecture whose model knows most of the names (x86-64 on a tie).
    static func likelyArchitecture(_ words: [Substring]) -> Architecture {
        func known(_ arch: Architecture) -> Int { words.filter { (try? FeatureSet(names: [$0], arch: arch)) != nil }.count }
        return Architecture.allCases.max { known($0) < known($1) }!
    }

    static func features(_ words: [Substring], arch: Architecture, spec: String) throws -> FeatureSet {
        do {
            return try FeatureSet(names: words, arch: arch)
        } catch let error as PolybinError {
            throw PolybinError("--flavor \(spec): \(error.message)")
        }
    }
}
