import CPolybin

/// zstd through the C layer, which shares the decoder's frame parameters.
public enum Compression {
    public static func zstd(_ source: [UInt8], prefix: [UInt8] = [], level: Int32) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: pb_zstd_bound(source.count))
        var written = 0
        var error = [CChar](repeating: 0, count: 256)
        let status = source.withUnsafeBytes { src in
            prefix.withUnsafeBytes { pre in
                out.withUnsafeMutableBytes { dst in
                    pb_zstd_compress(src.baseAddress, src.count, pre.baseAddress, pre.count, level, 1,
                                     dst.baseAddress, dst.count, &written, &error, error.count)
                }
            }
        }
        guard status == 0 else { throw PolybinError(String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)) }
        out.removeSubrange(written...)
        return out
    }
}
