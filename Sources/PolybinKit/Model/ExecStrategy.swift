import CPolybin

/// How the runner executes the rebuilt program (docs/runner.md, "Exec strategies").
public enum ExecStrategy: String, CaseIterable, Sendable {
    case cache, memfd, tmpfile

    public static let defaultOrder: [ExecStrategy] = [.cache, .memfd, .tmpfile]

    var code: UInt32 {
        switch self {
        case .cache: UInt32(PB_STRATEGY_CACHE.rawValue)
        case .memfd: UInt32(PB_STRATEGY_MEMFD.rawValue)
        case .tmpfile: UInt32(PB_STRATEGY_TMPFILE.rawValue)
        }
    }

    /// Parses "cache,memfd,tmpfile" (any non-empty subset, any order, no repeats).
    public static func parseOrder(_ spec: String) throws -> [ExecStrategy] {
        var order: [ExecStrategy] = []
        for word in spec.split(separator: ",", omittingEmptySubsequences: false) {
            guard let strategy = ExecStrategy(rawValue: String(word)) else {
                throw PolybinError("--exec \(spec): '\(word)' is not one of cache, memfd, tmpfile")
            }
            guard !order.contains(strategy) else { throw PolybinError("--exec \(spec): '\(word)' is listed twice") }
            order.append(strategy)
        }
        return order
    }

    /// Nibbles, lowest first, as the bundle header stores them.
    static func pack(_ order: [ExecStrategy]) -> UInt32 {
        order.enumerated().reduce(0) { $0 | $1.element.code << (4 * UInt32($1.offset)) }
    }
}
