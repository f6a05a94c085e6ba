import CPolybin

/// The order in which a fatbin's runner tries the exec strategies: any non-empty subset of
/// cache, memfd, tmpfile, in any order. Parsed, spelled and packed by the C rule
/// (pb_exec_order.h) with which the runner reads POLYBIN_EXEC and the bundle reader reads a
/// fatbin's header.
public struct ExecOrder: Equatable, Sendable, CustomStringConvertible {
    public var strategies: [ExecStrategy]

    public init(_ strategies: [ExecStrategy]) { self.strategies = strategies }

    /// cache, memfd, tmpfile: what a fatbin gets unless `--exec` says otherwise.
    public static let standard: ExecOrder = {
        var order = pb_exec_order()
        _ = pb_exec_order_unpack(PB_EXEC_ORDER_DEFAULT, &order)
        return ExecOrder(order)
    }()

    /// Parses `--exec`'s "cache,memfd,tmpfile" (any non-empty subset, any order, no repeats).
    public init(parsing spec: String) throws {
        let bytes = Array(spec.utf8)
        var order = pb_exec_order()
        var start = 0, length = 0
        let problem = bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { pb_exec_order_parse($0.baseAddress, $0.count, &order, &start, &length) }
        }
        let word = String(decoding: bytes[start..<start + length], as: UTF8.self)
        switch problem {
        case PB_EXEC_ORDER_OK: self.init(order)
        case PB_EXEC_ORDER_REPEATED: throw PolybinError("--exec \(spec): '\(word)' is listed twice")
        default: throw PolybinError("--exec \(spec): '\(word)' is not one of cache, memfd, tmpfile")
        }
    }

    init(_ order: pb_exec_order) {
        strategies = withUnsafeBytes(of: order.strategies) { raw in
            raw.prefix(Int(order.count)).compactMap { ExecStrategy(code: UInt32($0)) }
        }
    }

    var cOrder: pb_exec_order {
        var order = pb_exec_order()
        order.count = UInt32(min(strategies.count, Int(PB_STRATEGY_COUNT)))
        withUnsafeMutableBytes(of: &order.strategies) { raw in
            for (i, strategy) in strategies.prefix(raw.count).enumerated() { raw[i] = UInt8(strategy.code) }
        }
        return order
    }

    /// The fatbin header's exec_order field.
    var packed: UInt32 {
        var order = cOrder
        return pb_exec_order_pack(&order)
    }

    /// "cache,memfd,tmpfile".
    public var description: String {
        var order = cOrder
        var out = [CChar](repeating: 0, count: pb_exec_order_format(&order, nil, 0) + 1)
        _ = pb_exec_order_format(&order, &out, out.count)
        return String(cString: out)
    }
}
