import Dispatch

/// The SHA-256 of big embedded files, begun on a thread of its own as soon as the layout is
/// known: `polybin embed` then compiles its lookup code while the files are hashed, and
/// writing a file costs only its copy (copy_file_range) instead of copy and hash side by
/// side. One file after the other, on one core: the other is the compiler's, then the copy's.
final class EarlyHashes: @unchecked Sendable {
    private let results: ConcurrentResults<Result<[UInt8], Error>>
    /// Signalled when the blob's hash is in `results` (and again by every waiter).
    private let done: [Int: DispatchSemaphore]

    init(_ files: [(blob: Int, path: FilePath, size: UInt64)], blobs count: Int) {
        let results = ConcurrentResults<Result<[UInt8], Error>>(count: count)
        let done = Dictionary(uniqueKeysWithValues: files.map { ($0.blob, DispatchSemaphore(value: 0)) })
        self.results = results
        self.done = done
        DispatchQueue.global().async {
            for file in files {
                results[file.blob] = Result { try FileHash.digest(ofFileAt: file.path, size: file.size) }
                done[file.blob]!.signal()
            }
        }
    }

    func has(_ blob: Int) -> Bool { done[blob] != nil }

    /// Waits for the hash of `blob` (one that `has`).
    func hash(of blob: Int) throws -> [UInt8] {
        done[blob]!.wait()
        done[blob]!.signal()
        return try results[blob]!.get()
    }
}
