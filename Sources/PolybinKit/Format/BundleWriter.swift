import CPolybin

/// Writes the bundle format (docs/format.md). Deterministic: entries are sorted by name,
/// identical stored data is kept once, and nothing depends on time or paths.
public struct BundleWriter {
    public enum Kind: UInt16, Sendable { case fatbin = 1, files = 2 }
    public enum Codec: UInt16, Sendable { case raw = 0, zstd = 1, delta = 2 }

    public struct Entry {
        public var name: String
        public var codec: Codec
        /// Name of the reference entry, for deltas.
        public var reference: String?
        public var size: UInt64
        public var sha256: [UInt8]
        public var features: UInt64
        public var stored: [UInt8]

        public init(name: String, codec: Codec, reference: String? = nil, size: UInt64,
                    sha256: [UInt8], features: UInt64 = 0, stored: [UInt8]) {
            self.name = name
            self.codec = codec
            self.reference = reference
            self.size = size
            self.sha256 = sha256
            self.features = features
            self.stored = stored
        }
    }

    public var kind: Kind
    public var execOrder: UInt32
    /// The builds' architecture (fatbins; files bundles record none).
    public var arch: Architecture
    public var entries: [Entry] = []

    public init(kind: Kind, execOrder: UInt32 = 0, arch: Architecture = .x86_64) {
        self.kind = kind
        self.execOrder = execOrder
        self.arch = arch
    }

    /// The data area aligns each stored blob so uncompressed files can be used in place.
    static let blobAlignment = 16

    public func serialize() throws -> [UInt8] {
        let sorted = entries.sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
        for (a, b) in zip(sorted, sorted.dropFirst()) where a.name == b.name {
            throw PolybinError("two entries are named '\(a.name)'")
        }
        let position = Dictionary(uniqueKeysWithValues: sorted.enumerated().map { ($1.name, UInt32($0)) })

        var names: [UInt8] = []
        var nameOffsets: [UInt32] = []
        for entry in sorted {
            nameOffsets.append(UInt32(names.count))
            names.append(contentsOf: entry.name.utf8)
            names.append(0)
        }

        // Identical stored bytes (identical builds, identical files) share one blob.
        var blobOffsets: [[UInt8]: UInt64] = [:]
        var blobs: [[UInt8]] = []
        var entryOffsets: [UInt64] = []
        var dataSize: UInt64 = 0
        for entry in sorted {
            let key = entry.sha256 + [UInt8(entry.codec.rawValue)] + Array(entry.reference.map { $0.utf8 } ?? "".utf8)
            if let offset = blobOffsets[key] {
                entryOffsets.append(offset)
                continue
            }
            dataSize = align(dataSize, Self.blobAlignment)
            blobOffsets[key] = dataSize
            entryOffsets.append(dataSize)
            blobs.append(entry.stored)
            dataSize += UInt64(entry.stored.count)
        }

        let namesOffset = UInt64(PB_HEADER_SIZE) + UInt64(sorted.count) * UInt64(PB_ENTRY_SIZE)
        let dataOffset = align(namesOffset + UInt64(names.count), Int(PB_DATA_ALIGN))
        var out = [UInt8]()
        out.reserveCapacity(Int(dataOffset + dataSize))
        out.append(contentsOf: Array("PLYBNDL".utf8) + [0])
        out.appendLE(UInt16(PB_VERSION))
        out.appendLE(kind.rawValue)
        out.appendLE(UInt32(PB_HEADER_SIZE))
        out.appendLE(UInt32(PB_ENTRY_SIZE))
        out.appendLE(UInt32(sorted.count))
        out.appendLE(kind == .fatbin ? execOrder : 0)
        out.appendLE(UInt32(0))
        out.appendLE(dataOffset + dataSize)
        out.appendLE(namesOffset)
        out.appendLE(UInt64(names.count))
        out.appendLE(dataOffset)
        out.appendLE(dataSize)
        out.appendLE(kind == .fatbin ? arch.rawValue : UInt16(PB_ARCH_NONE.rawValue))
        out.append(contentsOf: [UInt8](repeating: 0, count: 22 + 32))

        for (i, entry) in sorted.enumerated() {
            var ref = UInt32(PB_NO_REF)
            if let reference = entry.reference {
                guard let index = position[reference] else {
                    throw PolybinError("entry '\(entry.name)' refers to missing entry '\(reference)'")
                }
                ref = index
            }
            let start = out.count
            out.appendLE(nameOffsets[i])
            out.appendLE(UInt32(entry.name.utf8.count))
            out.appendLE(entry.codec.rawValue)
            out.appendLE(UInt16(0))
            out.appendLE(ref)
            out.appendLE(entryOffsets[i])
            out.appendLE(UInt64(entry.stored.count))
            out.appendLE(entry.size)
            out.appendLE(entry.features)
            out.append(contentsOf: entry.sha256)
            out.append(contentsOf: [UInt8](repeating: 0, count: Int(PB_ENTRY_SIZE) - (out.count - start)))
        }
        out.append(contentsOf: names)
        let metaEnd = out.count
        out.append(contentsOf: [UInt8](repeating: 0, count: Int(dataOffset) - out.count))

        var written: UInt64 = 0
        for blob in blobs {
            let aligned = align(written, Self.blobAlignment)
            out.append(contentsOf: [UInt8](repeating: 0, count: Int(aligned - written)))
            out.append(contentsOf: blob)
            written = aligned + UInt64(blob.count)
        }

        let meta = out.withUnsafeBytes { raw -> [UInt8] in
            var ctx = pb_sha256_ctx()
            pb_sha256_init(&ctx)
            pb_sha256_update(&ctx, raw.baseAddress, 96)
            pb_sha256_update(&ctx, raw.baseAddress! + Int(PB_HEADER_SIZE), metaEnd - Int(PB_HEADER_SIZE))
            var digest = [UInt8](repeating: 0, count: 32)
            digest.withUnsafeMutableBufferPointer { pb_sha256_final(&ctx, $0.baseAddress) }
            return digest
        }
        out.replaceSubrange(96..<128, with: meta)
        return out
    }
}
