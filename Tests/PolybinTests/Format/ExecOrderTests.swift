import Testing
@testable import PolybinKit

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
        #expect(try LoadedBundle(bytes: Self.bundle(execOrder: packed), path: "b").execOrder == expected)
    }

    /// Unknown codes, repeats, more than three, and anything after the terminating 0.
    @Test(arguments: [UInt32(0x4), 0x11, 0x3213, 0x301, 0xF21])
    func invalidOrdersAreRefusedAsCorrupt(packed: UInt32) throws {
        #expect(throws: PolybinError("b: corrupt payload: bundle header is inconsistent")) {
            try LoadedBundle(bytes: Self.bundle(execOrder: packed), path: "b")
        }
    }
}
