/// One build of the program and the features it requires.
///
/// Spelled on the command line as `LEVEL=PATH` (`x86-64-v3=build/v3/app`) or
/// `NAME:FEATURE,FEATURE=PATH` (`fast:avx2,fma,bmi2=build/fast/app`).
public struct Flavor: Equatable, Sendable {
    public var name: String
    public var features: FeatureSet
    public var path: String

    public init(name: String, features: FeatureSet, path: String) {
        self.name = name
        self.features = features
        self.path = path
    }

    public init(parsing spec: String) throws {
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
            do {
                features = try FeatureSet(names: list.split(separator: ",", omittingEmptySubsequences: false))
            } catch let error as PolybinError {
                throw PolybinError("--flavor \(spec): \(error.message)")
            }
            guard Level.parse(Substring(name)) == nil else {
                throw PolybinError("--flavor \(spec): '\(name)' is a level name; use \(name)=PATH for a level build")
            }
        } else if let level = Level.parse(label) {
            name = Level.name(level)
            features = FeatureSet(level: level)
        } else {
            throw PolybinError("--flavor \(spec): unknown level '\(label)' (levels: x86-64, x86-64-v2, x86-64-v3, x86-64-v4; or NAME:FEATURES=PATH)")
        }
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-+")
        guard !name.isEmpty, name.count <= 64, name.allSatisfy({ allowed.contains($0) }) else {
            throw PolybinError("--flavor \(spec): flavor name '\(name)' must be 1-64 characters of letters, digits, '.', '_', '-', '+'")
        }
    }
}
