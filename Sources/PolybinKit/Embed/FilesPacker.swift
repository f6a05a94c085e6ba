import CPolybin
import Dispatch

/// Packs embedded files into a bundle of kind `files` without holding their bytes: the
/// layout comes from names and sizes (files whose size another file shares are hashed first,
/// so identical files are stored once), then `write` streams every file into its place in
/// the output, hashing it on the second core while the kernel copies it, and writes the
/// header and index, which need those hashes, last.
public struct FilesPacker {
    /// zstd level for `--compress`; nil stores every file as it is.
    public var compressionLevel: Int32?
    /// Where packing and writing report: phases "compressing" or "hashing", then "writing".
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
    }

    public struct Packed: Sendable {
        public let layout: BundleLayout
        /// Sorted by name, as in the bundle.
        public let rows: [Row]
        let sources: [Source]
        /// Content hashes known before writing (index order); nil: learnt while writing.
        let hashes: [[UInt8]?]
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
        if let level = compressionLevel {
            let contents = try files.map { file in try Files.sizeOrContent(of: file.path).content ?? Files.read(file.path) }
            progress.begin("compressing", total: contents.reduce(0) { $0 + UInt64($1.count) })
            let frames = try compress(contents, level: level)
            for (i, file) in files.enumerated() {
                let hash = SHA256.digest(contents[i])
                // A file zstd does not shrink stays raw, and so stays usable in place.
                let frame = frames[i].count < contents[i].count ? frames[i] : nil
                let stored = frame ?? contents[i]
                inputs.append(BundleLayout.Input(name: file.name, codec: frame == nil ? .raw : .zstd,
                                                 size: UInt64(contents[i].count), storedSize: UInt64(stored.count),
                                                 identity: hash + [frame == nil ? 0 : 1]))
                sources.append(.bytes(stored))
                known[file.name] = hash
            }
        } else {
            // A file whose st_size cannot be trusted (/proc, /sys) comes back read whole.
            let measured = try files.map { try Files.sizeOrContent(of: $0.path) }
            let sizes = measured.map(\.size)
            for (i, file) in files.enumerated() {
                if let content = measured[i].content { known[file.name] = SHA256.digest(content) }
            }
            var sharing: [UInt64: Int] = [:]
            for size in sizes { sharing[size, default: 0] += 1 }
            // Only files of a size some other file has can be duplicates: hash those first.
            let candidates = files.indices.filter { sharing[sizes[$0]]! > 1 && measured[$0].content == nil }
            let results = ConcurrentResults<Result<[UInt8], Error>>(count: candidates.count)
            progress.begin("hashing", total: candidates.reduce(0) { $0 + sizes[$1] })
            DispatchQueue.concurrentPerform(iterations: candidates.count) { [progress] j in
                let file = files[candidates[j]]
                results[j] = Result { try Self.hash(file.path, size: sizes[candidates[j]], progress: progress) }
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
        return Packed(
            layout: layout, rows: rows,
            sources: layout.blobEntry.map { sources[position[layout.entries[$0].input.name]!] },
            hashes: layout.entries.map { known[$0.input.name] }, progress: progress)
    }

    /// Compresses the files in parallel, one zstd frame each (files are independent).
    private func compress(_ contents: [[UInt8]], level: Int32) throws -> [[UInt8]] {
        let results = ConcurrentResults<Result<[UInt8], PolybinError>>(count: contents.count)
        DispatchQueue.concurrentPerform(iterations: contents.count) { [progress] i in
            results[i] = Result { try Compression.zstd(contents[i], level: level) }
                .mapError { $0 as? PolybinError ?? PolybinError("\($0)") }
            progress.advance(by: UInt64(contents[i].count))
        }
        return try (0..<contents.count).map { try results[$0]!.get() }
    }

    /// SHA-256 of a file's first `size` bytes, read in chunks; holes hash as zeros unread.
    static func hash(_ path: FilePath, size: UInt64, progress: Progress = .silent) throws -> [UInt8] {
        let fd = try Files.openForReading(path)
        defer { try? fd.close() }
        return try hash(fd, size: size, progress: progress)
    }

    static func hash(_ fd: FileDescriptor, size: UInt64, progress: Progress = .silent) throws -> [UInt8] {
        let chunk = Int(min(max(size, 1), 1 << 20))
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 4096)
        defer { buffer.deallocate() }
        var ctx = pb_sha256_ctx()
        pb_sha256_init(&ctx)
        var at: UInt64 = 0
        func zeros(to end: UInt64) {
            if at < end { buffer.initializeMemory(as: UInt8.self, repeating: 0) }
            while at < end {
                let n = Int(min(UInt64(chunk), end - at))
                pb_sha256_update(&ctx, buffer.baseAddress, n)
                at += UInt64(n)
                progress.advance(by: UInt64(n))
            }
        }
        for region in fd.dataRegions(from: 0, count: size) {
            zeros(to: region.lowerBound)
            while at < region.upperBound {
                let want = Int(min(UInt64(chunk), region.upperBound - at))
                let got = try fd.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<want]), at: at)
                guard got == want else { throw PolybinError("\(fd.path): changed while being read (shrank)") }
                pb_sha256_update(&ctx, buffer.baseAddress, got)
                at += UInt64(got)
                progress.advance(by: UInt64(got))
            }
        }
        zeros(to: size)
        var digest = [UInt8](repeating: 0, count: 32)
        digest.withUnsafeMutableBufferPointer { pb_sha256_final(&ctx, $0.baseAddress) }
        return digest
    }
}

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
        DispatchQueue.concurrentPerform(iterations: small.count) { j in
            let blob = small[j]
            results[j] = Result { try writeSmall(blob, to: fd, at: base + layout.blobs[blob].offset) }
        }
        for (j, blob) in small.enumerated() { learnt[blob] = try results[j]!.get() }
        for blob in sources.indices where learnt[blob] == nil {
            guard case .file(let path, let size) = sources[blob] else { continue }
            learnt[blob] = try writeLarge(path, size: size, to: fd, at: base + layout.blobs[blob].offset)
        }
        let meta = layout.meta(hashes: layout.entries.enumerated().map { i, entry in hashes[i] ?? learnt[entry.blob]! })
        try fd.write(meta, at: base)
        // With the padding between blobs, zeros of the truncated file that are never written.
        progress.advance(by: layout.size)
    }

    /// The bundle in memory, for emitters that encode it (C string literals).
    public func bytes() throws -> [UInt8] {
        var learnt = [[UInt8]](repeating: [], count: layout.blobs.count)
        var out = [UInt8](repeating: 0, count: Int(layout.size))
        for (blob, source) in sources.enumerated() {
            let offset = Int(layout.blobs[blob].offset)
            switch source {
            case .bytes(let stored):
                out.replaceSubrange(offset..<offset + stored.count, with: stored)
            case .file(let path, let size):
                let content = try Files.read(path)
                guard UInt64(content.count) == size else { throw PolybinError("\(path): changed while being read") }
                out.replaceSubrange(offset..<offset + content.count, with: content)
                learnt[blob] = SHA256.digest(content)
            }
        }
        let meta = layout.meta(hashes: layout.entries.enumerated().map { i, entry in hashes[i] ?? learnt[entry.blob] })
        out.replaceSubrange(0..<meta.count, with: meta)
        return out
    }

    /// One small blob: read whole, hashed, written at its place. Returns its hash.
    private func writeSmall(_ blob: Int, to fd: FileDescriptor, at offset: UInt64) throws -> [UInt8] {
        switch sources[blob] {
        case .bytes(let stored):
            try fd.write(stored, at: offset)
            progress.advance(by: UInt64(stored.count))
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

    /// One big file: the kernel copies it (holes stay holes) while this thread's twin hashes it.
    private func writeLarge(_ path: FilePath, size: UInt64, to fd: FileDescriptor, at offset: UInt64) throws -> [UInt8] {
        let input = try Files.openForReading(path)
        defer { try? input.close() }
        guard try input.status().size == size else { throw PolybinError("\(path): changed while being read") }
        let results = ConcurrentResults<Result<[UInt8], Error>>(count: 2)
        DispatchQueue.concurrentPerform(iterations: 2) { i in
            if i == 0 {
                results[0] = Result { try FilesPacker.hash(input, size: size) }
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
