import CPolybin

/// SHA-256 of an input's content, streamed through the C hasher: the one way the packers
/// hash a build or an embedded file, so that none is held whole to be hashed.
enum FileHash {
    /// A digest fed piece by piece.
    struct Hasher {
        private var context = pb_sha256_ctx()

        init() { pb_sha256_init(&context) }

        mutating func update(_ bytes: UnsafeRawBufferPointer) {
            pb_sha256_update(&context, bytes.baseAddress, bytes.count)
        }

        mutating func finalize() -> [UInt8] {
            var digest = [UInt8](repeating: 0, count: 32)
            digest.withUnsafeMutableBufferPointer { pb_sha256_final(&context, $0.baseAddress) }
            return digest
        }
    }

    /// A mapped file in 8 MiB slices, each dropped from memory once hashed: hashing every
    /// build first must not make them all resident at once. `hashed` hears each slice's size.
    static func digest(of file: MappedFile, hashed: (UInt64) -> Void = { _ in }) -> [UInt8] {
        var hasher = Hasher()
        let slice = 8 << 20
        for start in stride(from: 0, to: file.count, by: slice) {
            let end = min(file.count, start + slice)
            hasher.update(UnsafeRawBufferPointer(rebasing: file.bytes[start..<end]))
            file.release(start..<end)
            hashed(UInt64(end - start))
        }
        return hasher.finalize()
    }

    /// Files up to this size are hashed from one read.
    static let smallFile: UInt64 = 1 << 20

    /// The first `size` bytes of the file at `path`: a small file read in one call, without
    /// asking where its holes are; a larger one streamed as `digest(of:size:)` does.
    static func digest(ofFileAt path: FilePath, size: UInt64) throws -> [UInt8] {
        let fd = try Files.openForReading(path)
        defer { try? fd.close() }
        guard size <= smallFile else { return try digest(of: fd, size: size) }
        var content = [UInt8](repeating: 0, count: Int(size))
        let got = try content.withUnsafeMutableBytes { try fd.read(into: $0, at: 0) }
        guard got == content.count else { throw PolybinError("\(path): changed while being read (shrank)") }
        return SHA256.digest(content)
    }

    /// The first `size` bytes of the file open as `fd`, read in chunks of up to 1 MiB; holes
    /// hash as zeros, unread. A file that ends sooner is refused as changed.
    static func digest(of fd: FileDescriptor, size: UInt64) throws -> [UInt8] {
        let chunk = Int(min(max(size, 1), 1 << 20))
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 4096)
        defer { buffer.deallocate() }
        var hasher = Hasher()
        var at: UInt64 = 0
        func zeros(to end: UInt64) {
            if at < end { buffer.initializeMemory(as: UInt8.self, repeating: 0) }
            while at < end {
                let n = Int(min(UInt64(chunk), end - at))
                hasher.update(UnsafeRawBufferPointer(rebasing: buffer[..<n]))
                at += UInt64(n)
            }
        }
        for region in fd.dataRegions(from: 0, count: size) {
            zeros(to: region.lowerBound)
            while at < region.upperBound {
                let want = Int(min(UInt64(chunk), region.upperBound - at))
                let got = try fd.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<want]), at: at)
                guard got == want else { throw PolybinError("\(fd.path): changed while being read (shrank)") }
                hasher.update(UnsafeRawBufferPointer(rebasing: buffer[..<got]))
                at += UInt64(got)
            }
        }
        zeros(to: size)
        return hasher.finalize()
    }
}
