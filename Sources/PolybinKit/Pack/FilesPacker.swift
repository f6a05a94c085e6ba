import CPolybin

/// Packs embedded files into a bundle of kind `files` without holding their bytes: the
/// layout comes from names and sizes (files whose size another file shares are hashed first,
/// so identical files are stored once), then `write` streams every file into its place in
/// the output, hashing it on the second core while the kernel copies it, and writes the
/// header and index, which need those hashes, last.
public struct FilesPacker {
    /// zstd level for `--compress`; nil stores every file as it is.
    public var compressionLevel: Int32?

    /// Where writing reports (phase "writing": Packed.progress).
    public var progress: Progress

    public init(compressionLevel: Int32? = nil, progress: Progress = .silent) {
        self.compressionLevel = compressionLevel
        self.progress = progress
    }

    /// One file of the packed bundle; offsets count from the start of the bundle.
    public struct Row: Equatable, Sendable {
        public var name: String
        public var nameOffset: UInt64
        public var storedOffset: UInt64
        public var storedSize: UInt64
        public var size: UInt64
        public var compressed: Bool
    }

    /// Where a blob's stored bytes come from.
    enum Source: Sendable {
        case file(FilePath, size: UInt64)
        case bytes([UInt8])
        /// A zstd frame made ahead of the layout (`--compress`).
        case spooled(CompressedSpool.Frame)
    }

    public struct Packed: Sendable {
        public let layout: BundleLayout
        /// Sorted by name, as in the bundle.
        public let rows: [Row]
        let sources: [Source]
        /// Content hashes known before writing (index order); nil: learnt while writing.
        let hashes: [[UInt8]?]
        /// Holds the frames of `.spooled` sources until the bundle is written.
        let spool: CompressedSpool?
        /// The hashes of big files, begun when the layout is made (EarlyHashes).
        let early: EarlyHashes?
        /// Where `write` reports the bytes written.
        var progress: Progress = .silent

        public var size: UInt64 { layout.size }
    }

    public func pack(_ files: [EmbedInputs.File]) throws -> Packed {
        if let level = compressionLevel, !(1...22).contains(level) {
            throw PolybinError("compression level \(level) is outside zstd's 1-22")
        }
        var inputs: [BundleLayout.Input] = []
        var sources: [Source] = []
        var known: [String: [UInt8]] = [:]
        var spool: CompressedSpool?
        if let level = compressionLevel {
            let made = try compress(files, level: level, spool: &spool)
            for (i, file) in files.enumerated() {
                let result = made[i]
                // A file zstd does not shrink stays raw, and so stays usable in place.
                inputs.append(BundleLayout.Input(name: file.name, codec: result.frame == nil ? .raw : .zstd,
                                                 size: result.size, storedSize: result.frame?.count ?? result.size,
                                                 identity: result.hash + [result.frame == nil ? 0 : 1]))
                sources.append(result.frame.map { .spooled($0) } ?? result.content.map { .bytes($0) } ?? .file(file.path, size: result.size))
                known[file.name] = result.hash
            }
        } else {
            // A file whose st_size cannot be trusted (/proc, /sys: no blocks) comes back read
            // whole; one with blocks, found by the walk, is not opened again to be measured.
            let measured = try files.map { file -> (size: UInt64, content: [UInt8]?) in
                if let status = file.status, status.kind == .regular, !status.sizeMayLie {
                    return (status.size, nil)
                }
                return try Files.sizeOrContent(of: file.path)
            }
            let sizes = measured.map(\.size)
            for (i, file) in files.enumerated() {
                if let content = measured[i].content { known[file.name] = SHA256.digest(content) }
            }
            var sharing: [UInt64: Int] = [:]
            for size in sizes { sharing[size, default: 0] += 1 }
            // Only files of a size some other file has can be duplicates: hash those first.
            let candidates = files.indices.filter { sharing[sizes[$0]]! > 1 && measured[$0].content == nil }
            let results = ConcurrentResults<Result<[UInt8], Error>>(count: candidates.count)
            Threads.forEach(candidates.count) { j in
                let file = files[candidates[j]]
                results[j] = Result { try FileHash.digest(ofFileAt: file.path, size: sizes[candidates[j]]) }
            }
            for (j, i) in candidates.enumerated() { known[files[i].name] = try results[j]!.get() }
            for (i, file) in files.enumerated() {
                inputs.append(BundleLayout.Input(name: file.name, codec: .raw, size: sizes[i], storedSize: sizes[i],
                                                 identity: known[file.name]))
                sources.append(measured[i].content.map { .bytes($0) } ?? .file(file.path, size: sizes[i]))
            }
        }
        let layout = try BundleLayout(kind: .files, inputs: inputs)
        let position = Dictionary(uniqueKeysWithValues: files.enumerated().map { ($1.name, $0) })
        let rows = layout.entries.map { entry in
            Row(name: entry.input.name, nameOffset: entry.nameOffset, storedOffset: entry.storedOffset,
                storedSize: entry.input.storedSize, size: entry.input.size, compressed: entry.input.codec == .zstd)
        }
        let blobSources = layout.blobEntry.map { sources[position[layout.entries[$0].input.name]!] }
        let entryHashes = layout.entries.map { known[$0.input.name] }
        // Big files whose hash is still unknown are hashed from now on, on one core, while the
        // caller compiles its lookup code; writing then only copies them.
        var big: [(blob: Int, path: FilePath, size: UInt64)] = []
        for (blob, source) in blobSources.enumerated() {
            if case .file(let path, let size) = source, size >= Packed.streamThreshold, entryHashes[layout.blobEntry[blob]] == nil {
                big.append((blob, path, size))
            }
        }
        var packed = Packed(layout: layout, rows: rows, sources: blobSources, hashes: entryHashes, spool: spool,
                            early: big.isEmpty ? nil : EarlyHashes(big, blobs: layout.blobs.count))
        packed.progress = progress
        return packed
    }

    /// One file as `--compress` stores it: its hash and size, and its frame when zstd shrank it.
    struct Compressed: Sendable {
        var hash: [UInt8]
        var size: UInt64
        var frame: CompressedSpool.Frame?
        /// The content of a file whose size cannot be trusted (/proc), read whole already.
        var content: [UInt8]?
    }

    /// Compresses every file into its own zstd frame (files are independent), streamed into
    /// `spool`: small files side by side on the cores, each read whole (under
    /// Packed.streamThreshold); big ones one after the other from their mapping, zstd on one
    /// core and the hash on the other, the frame written as zstd makes it.
    private func compress(_ files: [EmbedInputs.File], level: Int32, spool: inout CompressedSpool?) throws -> [Compressed] {
        guard !files.isEmpty else { return [] }
        let frames = try CompressedSpool()
        spool = frames
        let measured = try files.map { try Files.sizeOrContent(of: $0.path) }
        // Its own phase: the seconds zstd takes are not the walk's.
        let progress = self.progress
        progress.begin("compressing", total: measured.reduce(0) { $0 + UInt64($1.size) })
        let isLarge = measured.map { $0.content == nil && $0.size >= Packed.streamThreshold }
        var made = [Compressed?](repeating: nil, count: files.count)
        let small = files.indices.filter { !isLarge[$0] }
        let results = ConcurrentResults<Result<Compressed, Error>>(count: small.count)
        Threads.forEach(small.count) { j in
            let i = small[j]
            results[j] = Result {
                let content = try measured[i].content ?? Files.read(files[i].path)
                let frame = try Compression.zstd(content, level: level)
                let kept = frame.count < content.count ? try frames.append(frame) : nil
                progress.advance(by: UInt64(content.count))
                return Compressed(hash: SHA256.digest(content), size: UInt64(content.count), frame: kept,
                                  content: kept == nil ? measured[i].content : nil)
            }
        }
        for (j, i) in small.enumerated() { made[i] = try results[j]!.get() }
        for i in files.indices where isLarge[i] {
            made[i] = try compressLarge(files[i].path, size: measured[i].size, level: level, into: frames)
            progress.advance(by: UInt64(measured[i].size))
        }
        return made.map { $0! }
    }

    private func compressLarge(_ path: FilePath, size: UInt64, level: Int32, into spool: CompressedSpool) throws -> Compressed {
        let input = try Files.openForReading(path)
        defer { try? input.close() }
        let mapped = try MappedFile(path)
        guard UInt64(mapped.count) == size else { throw PolybinError("\(path): changed while being read") }
        let out = try spool.newFile()
        let written = WrittenCount()
        let results = ConcurrentResults<Result<UInt64, Error>>(count: 2)
        let hash = ConcurrentResults<Result<[UInt8], Error>>(count: 1)
        Threads.forEach(2) { k in
            if k == 0 {
                hash[0] = Result { try FileHash.digest(of: input, size: size) }
            } else {
                results[1] = Result {
                    try Compression.zstd(mapped, 0..<mapped.count, prefix: nil, 0..<0, level: level, workers: 1,
                                         progress: .silent) { bytes in
                        try out.write(bytes, at: written.count)
                        written.count += UInt64(bytes.count)
                    }
                }
            }
        }
        let frameSize = try results[1]!.get()
        let digest = try hash[0]!.get()
        guard try input.status().size == size else { throw PolybinError("\(path): changed while being read") }
        guard frameSize < size else {
            try out.resize(to: 0)  // stored raw: the frame's disk space is given back at once
            return Compressed(hash: digest, size: size, frame: nil)
        }
        return Compressed(hash: digest, size: size, frame: CompressedSpool.Frame(fd: out, offset: 0, count: frameSize))
    }
}

/// How much of a streamed frame is written, as zstd's sink hands it over.
private final class WrittenCount: @unchecked Sendable { var count: UInt64 = 0 }

extension FilesPacker.Packed {
    /// Files at least this big are copied by the kernel while another thread hashes them;
    /// smaller ones are read, hashed and written by one worker each, both cores at a time.
    static let streamThreshold: UInt64 = 4 << 20

    /// Writes the bundle into `fd` at `base`, which must read as zeros over the bundle's
    /// size (a freshly truncated file): every input is read once and written once.
    public func write(to fd: FileDescriptor, at base: UInt64) throws {
        progress.begin("writing", total: layout.size)
        var learnt = [[UInt8]?](repeating: nil, count: layout.blobs.count)
        let small = sources.indices.filter { blob in
            if case .file(_, let size) = sources[blob] { return size < Self.streamThreshold }
            return true
        }
        let results = ConcurrentResults<Result<[UInt8]?, Error>>(count: small.count)
        Threads.forEach(small.count) { j in
            let blob = small[j]
            results[j] = Result { try writeSmall(blob, to: fd, at: base + layout.blobs[blob].offset) }
        }
        for (j, blob) in small.enumerated() { learnt[blob] = try results[j]!.get() }
        for blob in sources.indices where learnt[blob] == nil {
            guard case .file(let path, let size) = sources[blob] else { continue }
            learnt[blob] = try writeLarge(path, size: size, blob: blob, to: fd, at: base + layout.blobs[blob].offset)
        }
        let meta = layout.meta(hashes: layout.entries.enumerated().map { i, entry in hashes[i] ?? learnt[entry.blob]! })
        try fd.write(meta, at: base)
        // With the padding between blobs, zeros of the truncated file that are never written.
        progress.advance(by: layout.size)
    }

    /// The bundle in memory (tests; emitters stream it).
    public func bytes() throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(Int(layout.size))
        try stream { out.append(contentsOf: $0) }
        return out
    }

    /// The bundle's bytes in order, handed to `body` a piece at a time (for emitters that
    /// encode them, as C string literals): no more than 1 MiB of them is held at once. The
    /// header and index come first and need every file's hash, so files whose hash pack did
    /// not learn are hashed first, on both cores; then each file is read once more, in order.
    public func stream(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        var learnt = [[UInt8]?](repeating: nil, count: layout.blobs.count)
        let missing = Array(Set(layout.entries.indices.filter { hashes[$0] == nil }.map { layout.entries[$0].blob })).sorted()
        // Big files whose hash pack began early (EarlyHashes) are not read for it again.
        if let early {
            for blob in missing where early.has(blob) { learnt[blob] = try early.hash(of: blob) }
        }
        let unhashed = missing.filter { learnt[$0] == nil }
        let results = ConcurrentResults<Result<[UInt8], Error>>(count: unhashed.count)
        Threads.forEach(unhashed.count) { j in
            results[j] = Result {
                guard case .file(let path, let size) = sources[unhashed[j]] else {
                    preconditionFailure("bytes held in memory always have their hash")
                }
                return try FileHash.digest(ofFileAt: path, size: size)
            }
        }
        for (j, blob) in unhashed.enumerated() { learnt[blob] = try results[j]!.get() }
        try layout.meta(hashes: layout.entries.enumerated().map { i, entry in hashes[i] ?? learnt[entry.blob]! })
            .withUnsafeBytes(body)
        let zeros = [UInt8](repeating: 0, count: 4096)
        func pad(to end: UInt64, from at: inout UInt64) throws {
            while at < end {
                let n = Int(min(UInt64(zeros.count), end - at))
                try zeros.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[..<n])) }
                at += UInt64(n)
            }
        }
        var at = layout.dataOffset
        for (blob, source) in sources.enumerated() {
            try pad(to: layout.blobs[blob].offset, from: &at)
            switch source {
            case .bytes(let stored):
                try stored.withUnsafeBytes(body)
            case .spooled(let frame):
                try frame.fd.stream(from: frame.offset, count: frame.count, body)
            case .file(let path, let size):
                let input = try Files.openForReading(path)
                defer { try? input.close() }
                guard try input.status().size == size else { throw PolybinError("\(path): changed while being read") }
                try input.stream(count: size, body)
                guard try input.status().size == size else { throw PolybinError("\(path): changed while being read") }
            }
            at = layout.blobs[blob].offset + layout.blobs[blob].size
        }
        try pad(to: layout.size, from: &at)
    }

    /// One small blob: read whole, hashed, written at its place. Returns its hash.
    private func writeSmall(_ blob: Int, to fd: FileDescriptor, at offset: UInt64) throws -> [UInt8] {
        switch sources[blob] {
        case .bytes(let stored):
            try fd.write(stored, at: offset)
            progress.advance(by: UInt64(stored.count))
            return []
        case .spooled(let frame):
            try fd.copy(from: frame.fd, at: frame.offset, count: frame.count, to: offset, progress: progress)
            return []
        case .file(let path, let size):
            let input = try Files.openForReading(path)
            defer { try? input.close() }
            var content = [UInt8](repeating: 0, count: Int(size))
            let got = try content.withUnsafeMutableBytes { try input.read(into: $0, at: 0) }
            guard got == content.count, try input.status().size == size else {
                throw PolybinError("\(path): changed while being read")
            }
            try fd.write(content, at: offset)
            progress.advance(by: size)
            return SHA256.digest(content)
        }
    }

    /// One big file: the kernel copies it (holes stay holes) while this thread's twin hashes
    /// it, or while the hash begun early (EarlyHashes) finishes.
    private func writeLarge(_ path: FilePath, size: UInt64, blob: Int, to fd: FileDescriptor, at offset: UInt64) throws -> [UInt8] {
        let input = try Files.openForReading(path)
        defer { try? input.close() }
        guard try input.status().size == size else { throw PolybinError("\(path): changed while being read") }
        if let early, early.has(blob) {
            try fd.copy(from: input, at: 0, count: size, to: offset, progress: progress)
            let digest = try early.hash(of: blob)
            guard try input.status().size == size else { throw PolybinError("\(path): changed while being read") }
            return digest
        }
        let results = ConcurrentResults<Result<[UInt8], Error>>(count: 2)
        Threads.forEach(2) { i in
            if i == 0 {
                results[0] = Result { try FileHash.digest(of: input, size: size) }
            } else {
                results[1] = Result { try fd.copy(from: input, at: 0, count: size, to: offset, progress: progress); return [] }
            }
        }
        _ = try results[1]!.get()
        let digest = try results[0]!.get()
        guard try input.status().size == size else { throw PolybinError("\(path): changed while being read") }
        return digest
    }
}
