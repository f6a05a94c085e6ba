import CPolybin

/// The meta hash the C reader checks first, recomputed: without it, a mutated header never
/// reaches the checks after the hash.
package enum BundleDigest {
    package static func sha256(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 32)
        pb_sha256(bytes.baseAddress, bytes.count, &digest)
        return digest
    }

    package static func rehashMeta(_ bytes: inout [UInt8]) {
        guard bytes.count >= 128 else { return }
        func le64(_ at: Int) -> UInt64 { (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[at + $1]) << (8 * $1) } }
        let (namesEnd, overflow) = le64(40).addingReportingOverflow(le64(48))
        guard !overflow, namesEnd >= 128, namesEnd <= UInt64(bytes.count) else { return }
        bytes.withUnsafeMutableBytes { raw in
            var ctx = pb_sha256_ctx()
            pb_sha256_init(&ctx)
            pb_sha256_update(&ctx, raw.baseAddress, 96)
            pb_sha256_update(&ctx, raw.baseAddress! + 128, Int(namesEnd) - 128)
            pb_sha256_final(&ctx, raw.baseAddress!.assumingMemoryBound(to: UInt8.self) + 96)
        }
    }
}
