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
    /// given, streamed through zstd so that `progress` advances as it goes; `workers` > 1 uses
    /// zstd's threads.
    static func zstd(_ content: MappedFile, _ range: Range<Int>, prefix file: MappedFile?, _ prefixRange: Range<Int>,
                     level: Int32, workers: Int32, progress: Progress) throws -> [UInt8] {
        let source = UnsafeRawBufferPointer(rebasing: content.bytes[range])
        let prefix = file.map { UnsafeRawBufferPointer(rebasing: $0.bytes[prefixRange]) } ?? UnsafeRawBufferPointer(start: nil, count: 0)
        let bound = pb_zstd_bound(source.count)
        var message = [CChar](repeating: 0, count: 256)
        var status: Int32 = 0
        let reporter = FrameProgress(progress)
        // The capacity is address space: only the pages zstd writes become memory.
        let out = try [UInt8](unsafeUninitializedCapacity: bound) { buffer, count in
            var job = pb_zstd_job()
            job.src = source.baseAddress
            job.size = source.count
            job.prefix = prefix.baseAddress
            job.prefix_size = prefix.count
            job.level = level
            job.workers = workers
            job.release_input = 1
            job.dst = UnsafeMutableRawPointer(buffer.baseAddress)
            job.cap = bound
            job.progress = { context, done in
                Unmanaged<FrameProgress>.fromOpaque(context!).takeUnretainedValue().report(done)
            }
            job.context = Unmanaged.passUnretained(reporter).toOpaque()
            var written = 0
            status = withExtendedLifetime(reporter) { pb_zstd_compress_stream(&job, &written, &message, message.count) }
            count = status == 0 ? written : 0
            if status != 0 {
                throw PolybinError("\(content.path): \(String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))")
            }
        }
        return out
    }
}

/// Turns zstd's running total for one frame into increments of the shared progress.
final class FrameProgress {
    let progress: Progress
    var reported: UInt64 = 0

    init(_ progress: Progress) { self.progress = progress }

    func report(_ done: UInt64) {
        if done > reported { progress.advance(by: done - reported) }
        reported = max(reported, done)
    }
}
