import CPolybin
import Testing
@testable import PolybinKit
import PolybinTestSupport

/// The exec-order field is decoded and validated once, by the C reader (docs/format.md).
@Suite struct ExecOrderField {
    static func bundle(execOrder: UInt32) throws -> [UInt8] {
        var writer = BundleWriter(kind: .fatbin, execOrder: execOrder)
        writer.entries.append(.init(name: "x86-64", codec: .raw, size: 1, sha256: SHA256.digest([1]), stored: [1]))
        return try writer.serialize()
    }

    static let valid: [(UInt32, [ExecStrategy])] = [
        (0x321, [.cache, .memfd, .tmpfile]), (0x2, [.memfd]), (0x13, [.tmpfile, .cache]), (0, [.cache, .memfd, .tmpfile]),
    ]

    @Test(arguments: valid)
    func validOrdersDecodeAsWritten(packed: UInt32, expected: [ExecStrategy]) throws {
        #expect(try LoadedBundle(bytes: Self.bundle(execOrder: packed), path: "b").execOrder.strategies == expected)
    }

    /// Unknown codes, repeats, more than three, and anything after the terminating 0.
    @Test(arguments: [UInt32(0x4), 0x11, 0x3213, 0x301, 0xF21])
    func invalidOrdersAreRefusedAsCorrupt(packed: UInt32) throws {
        #expect(throws: PolybinError("b: corrupt payload: bundle header is inconsistent")) {
            try LoadedBundle(bytes: Self.bundle(execOrder: packed), path: "b")
        }
    }
}

/// The exec-order rule (pb_exec_order.h), which `polybin build --exec`, the runner's
/// POLYBIN_EXEC and the bundle reader all call: every order is spelled, packed and read back
/// as itself, and every malformed spelling is refused, naming the word.
@Suite struct ExecOrderRule {
    /// Each non-empty subset of the strategies in each order: 3 + 6 + 6.
    static let every: [[ExecStrategy]] = {
        func orders(_ rest: [ExecStrategy]) -> [[ExecStrategy]] {
            rest.flatMap { first in [[first]] + orders(rest.filter { $0 != first }).map { [first] + $0 } }
        }
        return orders(ExecStrategy.allCases)
    }()

    @Test func everyOrderParsesFormatsPacksAndUnpacksAsItself() throws {
        #expect(Self.every.count == 15)
        for strategies in Self.every {
            let spelled = strategies.map(\.name).joined(separator: ",")
            let order = try ExecOrder(parsing: spelled)
            #expect(order.strategies == strategies)
            #expect(order.description == spelled)
            var unpacked = pb_exec_order()
            #expect(pb_exec_order_unpack(order.packed, &unpacked) == 1)
            #expect(ExecOrder(unpacked) == order, "\(spelled) packed as \(order.packed)")
            #expect(try LoadedBundle(bytes: ExecOrderField.bundle(execOrder: order.packed), path: "b").execOrder == order)
        }
    }

    @Test func theStandardOrderIsWhatAZeroFieldMeans() {
        #expect(ExecOrder.standard.strategies == [.cache, .memfd, .tmpfile])
        #expect(ExecOrder.standard.packed == PB_EXEC_ORDER_DEFAULT)
    }

    @Test(arguments: [
        ("", "'' is not one of cache, memfd, tmpfile"),
        ("cache,", "'' is not one of cache, memfd, tmpfile"),
        (",memfd", "'' is not one of cache, memfd, tmpfile"),
        ("cache,fast", "'fast' is not one of cache, memfd, tmpfile"),
        ("Cache", "'Cache' is not one of cache, memfd, tmpfile"),
        ("memfd,cache,memfd", "'memfd' is listed twice"),
        ("cache,memfd,tmpfile,cache", "'cache' is listed twice"),
    ])
    func malformedOrdersAreRefusedNamingTheWord(spec: String, problem: String) {
        #expect(throws: PolybinError("--exec \(spec): \(problem)")) { try ExecOrder(parsing: spec) }
    }
}
