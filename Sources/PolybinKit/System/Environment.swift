import Glibc

/// This process's environment variables, read with getenv (no Foundation: the polybin CLI
/// links only FoundationEssentials, through swift-argument-parser).
public enum Environment {
    /// The value of `name`, nil when it is unset or empty (an empty CC or POLYBIN_RUNNER means
    /// the default, as when it is unset).
    public static func value(_ name: String) -> String? {
        guard let raw = getenv(name) else { return nil }
        let value = String(cString: raw)
        return value.isEmpty ? nil : value
    }
}
