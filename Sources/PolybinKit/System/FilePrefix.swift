extension Files {
    /// The first `count` bytes of a regular file (fewer when it is shorter): enough to read a
    /// header without reading a many-MB file.
    public static func readPrefix(_ path: String, count: Int) throws -> [UInt8] {
        let fd = try openForReading(FilePath(path))
        defer { try? fd.close() }
        var bytes = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let n = try bytes.withUnsafeMutableBytes { try fd.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[filled...]), at: UInt64(filled)) }
            if n == 0 { break }
            filled += n
        }
        return Array(bytes[..<filled])
    }
}
