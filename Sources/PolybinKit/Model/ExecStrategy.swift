import CPolybin

/// How the runner executes the rebuilt program (docs/runner.md, "Exec strategies").
public enum ExecStrategy: CaseIterable, Sendable {
    case cache, memfd, tmpfile

    var code: UInt32 {
        switch self {
        case .cache: UInt32(PB_STRATEGY_CACHE.rawValue)
        case .memfd: UInt32(PB_STRATEGY_MEMFD.rawValue)
        case .tmpfile: UInt32(PB_STRATEGY_TMPFILE.rawValue)
        }
    }

    init?(code: UInt32) {
        guard let strategy = Self.allCases.first(where: { $0.code == code }) else { return nil }
        self = strategy
    }

    /// "cache", "memfd", "tmpfile": as `--exec` and POLYBIN_EXEC spell it (pb_strategy_name).
    public var name: String { String(cString: pb_strategy_name(code)) }
}
