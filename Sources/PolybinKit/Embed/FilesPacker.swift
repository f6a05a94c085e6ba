import CPolybin
import Dispatch

/// Packs embedded files into a bundle of kind `files`, and describes where each file lies in
/// it so generated code can find files without parsing the bundle at run time.
public struct FilesPacker {
    /// zstd level for `--compress`; nil stores every file as it is.
    public var compressionLevel: Int32?

    public init(compressionLevel: Int32? = nil) { self.compressionLevel = compressionLevel }

    /// One file of the packed bundle; offsets count from the start of the bundle.
    public struct Row: Equatable, Sendable {
        public var name: String
        public var nameOffset: UInt64
        public var storedOffset: UInt64
        public var storedSize: UInt64
        public var size: UInt64
        public var compressed: Bool
    }

    public struct Packed {
        public var bundle: [UInt8]
        /// Sorted by name, as in the bundle.
        public var rows: [Row]
    }

    public func pack(_ files: [EmbedInputs.File]) throws -> Packed {
        if let level = compressionLevel, !(1...22).contains(level) {
            throw PolybinError("compression level \(level) is outside zstd's 1-22")
        }
        let contents = try files.map { try Files.read($0.path) }
        let hashes = contents.map { SHA256.digest($0) }
        let stored = try compressionLevel.map { try compress(contents, level: $0) } ?? contents.map { _ in nil }

        var writer = BundleWriter(kind: .files)
        for (i, file) in files.enumerated() {
            // A file zstd does not shrink stays raw, and so stays usable in place.
            let frame = stored[i].flatMap { $0.count < contents[i].count ? $0 : nil }
            writer.entries.append(BundleWriter.Entry(
                name: file.name, codec: frame == nil ? .raw : .zstd, size: UInt64(contents[i].count),
                sha256: hashes[i], stored: frame ?? contents[i]))
        }
        let bundle = try writer.serialize()
        return Packed(bundle: bundle, rows: try Self.rows(of: bundle))
    }

    /// Compresses the files in parallel, one zstd frame each (files are independent).
    private func compress(_ contents: [[UInt8]], level: Int32) throws -> [[UInt8]?] {
        let results = ConcurrentResults<Result<[UInt8], PolybinError>>(count: contents.count)
        DispatchQueue.concurrentPerform(iterations: contents.count) { i in
            results[i] = Result { try Compression.zstd(contents[i], level: level) }
                .mapError { $0 as? PolybinError ?? PolybinError("\($0)") }
        }
        return try (0..<contents.count).map { try results[$0]!.get() }
    }

    /// The layout as the C reader sees it: the one parser of the format decides the offsets.
    static func rows(of bundle: [UInt8]) throws -> [Row] {
        try bundle.withUnsafeBytes { raw in
            var opened = pb_bundle()
            let status = pb_bundle_open(&opened, raw.baseAddress, UInt64(raw.count))
            guard status == PB_OK else {
                throw PolybinError("packed bundle does not read back: \(String(cString: pb_status_message(status)))")
            }
            let base = UInt(bitPattern: raw.baseAddress)
            return (0..<opened.count).map { i in
                var entry = pb_entry()
                pb_bundle_entry(&opened, i, &entry)
                return Row(
                    name: String(cString: entry.name),
                    nameOffset: UInt64(UInt(bitPattern: entry.name) - base),
                    storedOffset: UInt64(UInt(bitPattern: entry.stored) - base),
                    storedSize: entry.stored_size, size: entry.size,
                    compressed: entry.codec == UInt32(PB_CODEC_ZSTD.rawValue))
            }
        }
    }
}
