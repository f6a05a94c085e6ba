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

extension Compression {
    /// One frame of `range` of a mapped file, against `prefixRange` of `prefix` (a delta) when
    /// given, streamed through zstd so that `progress` advances as it goes and each chunk of
    /// the frame goes to `sink` as soon as zstd makes it; `workers` > 1 uses zstd's threads.
    /// Returns the frame's size. The input pages zstd is done with are dropped as it goes.
    static func zstd(_ content: MappedFile, _ range: Range<Int>, prefix file: MappedFile?, _ prefixRange: Range<Int>,
                     level: Int32, workers: Int32, progress: Progress,
                     sink: @escaping (UnsafeRawBufferPointer) throws -> Void) throws -> UInt64 {
        let source = UnsafeRawBufferPointer(rebasing: content.bytes[range])
        let prefix = file.map { UnsafeRawBufferPointer(rebasing: $0.bytes[prefixRange]) } ?? UnsafeRawBufferPointer(start: nil, count: 0)
        var message = [CChar](repeating: 0, count: 256)
        let job = FrameJob(progress, sink)
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: pb_zstd_chunk_size(), alignment: 4096)
        defer { chunk.deallocate() }
        var spec = pb_zstd_job()
        spec.src = source.baseAddress
        spec.size = source.count
        spec.prefix = prefix.baseAddress
        spec.prefix_size = prefix.count
        spec.level = level
        spec.workers = workers
        spec.release_input = 1
        spec.dst = chunk.baseAddress
        spec.cap = chunk.count
        spec.progress = { context, done in
            Unmanaged<FrameJob>.fromOpaque(context!).takeUnretainedValue().report(done)
        }
        spec.sink = { context, data, size in
            Unmanaged<FrameJob>.fromOpaque(context!).takeUnretainedValue().write(UnsafeRawBufferPointer(start: data, count: size))
        }
        spec.context = Unmanaged.passUnretained(job).toOpaque()
        var written = 0
        let status = withExtendedLifetime(job) { pb_zstd_compress_stream(&spec, &written, &message, message.count) }
        if let error = job.error { throw error }
        if status != 0 {
            throw PolybinError("\(content.path): \(String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))")
        }
        return UInt64(written)
    }

    /// The same frame in memory.
    static func zstd(_ content: MappedFile, _ range: Range<Int>, prefix file: MappedFile?, _ prefixRange: Range<Int>,
                     level: Int32, workers: Int32, progress: Progress) throws -> [UInt8] {
        let frame = FrameBytes()
        _ = try zstd(content, range, prefix: file, prefixRange, level: level, workers: workers, progress: progress) {
            frame.bytes.append(contentsOf: $0)
        }
        return frame.bytes
    }
}

private final class FrameBytes: @unchecked Sendable { var bytes: [UInt8] = [] }

/// What zstd's callbacks for one frame reach: the shared progress (zstd reports a running
/// total, the progress wants increments) and the frame's sink, whose first error stops zstd.
final class FrameJob {
    let progress: Progress
    let sink: (UnsafeRawBufferPointer) throws -> Void
    var reported: UInt64 = 0
    var error: Error?

    init(_ progress: Progress, _ sink: @escaping (UnsafeRawBufferPointer) throws -> Void) {
        self.progress = progress
        self.sink = sink
    }

    func report(_ done: UInt64) {
        if done > reported { progress.advance(by: done - reported) }
        reported = max(reported, done)
    }

    func write(_ bytes: UnsafeRawBufferPointer) -> Int32 {
        do {
            try sink(bytes)
            return 0
        } catch {
            self.error = error
            return -1
        }
    }
}
